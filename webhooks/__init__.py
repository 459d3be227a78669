"""Webhooks: an organisation's own systems hear of what happens to what it can reach.

An organisation's administrators (``access.can_manage_webhooks``) subscribe https URLs to
kinds of event (score_portal.events.KINDS). The services emit events
(``score_portal.events.emit``); after their commit this app's receiver writes one
``Delivery`` per matching active subscription (one INSERT per batch) and queues them; a
worker posts each through the house's job mechanism (score_portal.jobs), signed, retrying
with exponential backoff for up to three days.

Who hears of an event: the organisations whose scope reaches its object.

- an enrolment (created, confirmed, completed, withdrawn) and its consulting visits: the
  partner funding it (its partnership's) and the service provider of its cohort, once placed;
- a certificate (issued, revoked): the funding partner (certificates are reached that way);
- a supplier-list import (finished, done or failed): the brand whose list it is;
- a factory merge: every brand or initiative that lists either record (those the merge
  emails).

Factory managers are people, not organisations: they subscribe to nothing. Nor does the ILO:
it reaches everything, and its own tools read the API.
"""
