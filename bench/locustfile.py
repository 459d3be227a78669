"""The load test's people (run by bench/load.py through locust, headless, on loopback only).

Each persona signs in once with the demo accounts (`load_demo`), then opens its own pages
and does its own actions in a realistic mix; every request is named by its page type, so the
figures are per page type, not per URL. A response other than the one expected is a failure.
"""

from __future__ import annotations

import os
import random
import re

from locust import HttpUser, between, task

PASSWORD = os.environ.get("BENCH_LOAD_PASSWORD", "score-demo-2026")
CERTIFICATE_CODE = os.environ.get("BENCH_LOAD_CERTIFICATE", "")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SUPPLIER_LIST = (
    "name,address,country,supplier_code\n"
    "Load Test Garments {n},1 Industrial Road,TR,LOAD-{n}-1\n"
    "Load Test Textiles {n},2 Industrial Road,CN,LOAD-{n}-2\n"
)


class Persona(HttpUser):
    abstract = True
    email = ""
    wait_time = between(1, 3)

    def on_start(self) -> None:
        page = self.client.get("/accounts/login/", name="sign-in form")
        token = CSRF.search(page.text)
        with self.client.post(
            "/accounts/login/",
            {
                "login": self.email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            name="sign in",
            catch_response=True,
        ) as response:
            if "sessionid" not in self.client.cookies:
                response.failure(f"{self.email} was not signed in")

    def links(self, path: str, pattern: str, name: str) -> list[str]:
        """The detail links of a list page the persona sees."""
        page = self.client.get(path, name=name)
        return sorted(set(re.findall(pattern, page.text)))

    def post_form(self, form_path: str, path: str, data: dict, name: str, **kwargs) -> None:
        form = self.client.get(form_path, name=f"{name} (form)")
        token = CSRF.search(form.text)
        data = {**data, "csrfmiddlewaretoken": token.group(1) if token else ""}
        self.client.post(path, data, name=name, **kwargs)


class BrandStaff(Persona):
    weight = 4
    email = "brand@inditex.score-demo.org"

    @task(3)
    def home(self) -> None:
        self.client.get("/", name="home (brand)")

    @task(3)
    def matrix(self) -> None:
        self.client.get("/training/matrix/", name="progress matrix")

    @task(2)
    def suppliers(self) -> None:
        self.client.get("/suppliers/", name="supplier list")

    @task(2)
    def enrolment(self) -> None:
        found = self.links("/training/enrolments/", r"/training/enrolments/(\d+)/", "enrolments")
        if found:
            self.client.get(f"/training/enrolments/{random.choice(found)}/", name="enrolment")

    @task(1)
    def impact(self) -> None:
        self.client.get("/training/impact/", name="impact")

    @task(1)
    def partnerships(self) -> None:
        self.client.get("/partners/partnerships/", name="partnerships")

    @task(1)
    def enrol_page(self) -> None:
        self.client.get("/training/enrol/", name="enrol form")

    @task(1)
    def matrix_csv(self) -> None:
        self.client.get("/training/matrix.csv", name="matrix CSV")

    @task(1)
    def upload_list(self) -> None:
        """An action: a small supplier list, read into a preview during the request."""
        form = self.client.get("/suppliers/imports/new/", name="upload (form)")
        token = CSRF.search(form.text)
        brand = re.search(r'<option value="(\d+)"', form.text)
        n = random.randrange(10**9)
        self.client.post(
            "/suppliers/imports/new/",
            {
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "brand": brand.group(1) if brand else "",
            },
            files={"file": (f"load-{n}.csv", SUPPLIER_LIST.format(n=n).encode(), "text/csv")},
            name="upload a supplier list",
        )


class FactoryManager(Persona):
    weight = 3
    email = "manager@huamei.score-demo.org"

    @task(3)
    def home(self) -> None:
        self.client.get("/", name="home (factory)")

    @task(2)
    def enrolment(self) -> None:
        found = self.links("/", r"/training/enrolments/(\d+)/", "home (factory)")
        if found:
            self.client.get(f"/training/enrolments/{random.choice(found)}/", name="enrolment")

    @task(1)
    def certificates(self) -> None:
        self.client.get("/training/certificates/", name="certificates")

    @task(1)
    def consent(self) -> None:
        """An action: the factory shares (or stops sharing) its KPI readings."""
        found = self.links("/", r"/training/enrolments/(\d+)/", "home (factory)")
        if found:
            pk = random.choice(found)
            data = {"shared": "on"} if random.random() < 0.5 else {}
            self.post_form(
                f"/training/enrolments/{pk}/",
                f"/training/enrolments/{pk}/consent/",
                data,
                "share KPI readings",
            )


class Trainer(Persona):
    weight = 2
    email = "trainer@tuv.score-demo.org"

    @task(2)
    def home(self) -> None:
        self.client.get("/", name="home (trainer)")

    @task(2)
    def cohort(self) -> None:
        found = self.links("/training/cohorts/", r"/training/cohorts/(\d+)/", "cohorts")
        if found:
            self.client.get(f"/training/cohorts/{random.choice(found)}/", name="cohort")

    @task(2)
    def enrolment(self) -> None:
        found = self.links("/training/enrolments/", r"/training/enrolments/(\d+)/", "enrolments")
        if found:
            self.client.get(f"/training/enrolments/{random.choice(found)}/", name="enrolment")


class IloAdmin(Persona):
    weight = 1
    email = "ilo.admin@score-demo.org"

    @task(2)
    def home(self) -> None:
        self.client.get("/", name="home (ILO)")

    @task(1)
    def partnership(self) -> None:
        found = self.links(
            "/partners/partnerships/", r"/partners/partnerships/(\d+)/", "partnerships"
        )
        if found:
            self.client.get(f"/partners/partnerships/{random.choice(found)}/", name="partnership")

    @task(1)
    def suppliers(self) -> None:
        self.client.get("/suppliers/", name="supplier list")

    @task(1)
    def certificates(self) -> None:
        self.client.get("/training/certificates/", name="certificates")


class Visitor(HttpUser):
    weight = 1
    wait_time = between(1, 3)

    @task(2)
    def landing(self) -> None:
        self.client.get("/", name="landing")

    @task(1)
    def verify(self) -> None:
        if CERTIFICATE_CODE:
            self.client.get(f"/verify/{CERTIFICATE_CODE}/", name="verify a certificate")
