"""The settings module fails loudly on bad values and refuses unsafe production setups.

Each case starts a fresh interpreter, because settings are read once per process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from score_portal.env import Env, SettingsError

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k" * 30 + "-random-enough-for-the-deploy-check-0123456789"
PRODUCTION = {
    "SCORE_ENVIRONMENT": "production",
    "SECRET_KEY": GOOD_SECRET,
    "ALLOWED_HOSTS": "portal.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/score_portal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "REDIS_BROKER_URL": "redis://127.0.0.1:6379/1",
    "SITE_URL": "https://portal.example.org",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SCORE_"))}
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "EMAIL_URL",
        "SITE_URL",
        "REDIS_BROKER_URL",
        "CELERY_QUEUE",
        "AWS_STORAGE_BUCKET_NAME",
        "AWS_S3_ENDPOINT_URL",
    ):
        clean.pop(name, None)
    clean.update(env, DJANGO_SETTINGS_MODULE="score_portal.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "ture"}, "DEBUG='ture' is not a boolean"),
        (
            {"DATABASE_CONN_MAX_AGE": "sixty", "DATABASE_URL": PRODUCTION["DATABASE_URL"]},
            "DATABASE_CONN_MAX_AGE='sixty' is not a whole number",
        ),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL must be a URL starting with"),
        ({"EMAIL_URL": "smtp:/missing-slash"}, "EMAIL_URL must be a URL starting with"),
        ({"SCORE_ENVIRONMENT": "prod"}, "SCORE_ENVIRONMENT='prod' must be one of"),
        ({"TRUSTED_PROXY_COUNT": "one"}, "TRUSTED_PROXY_COUNT='one' is not a whole number"),
        ({"JOB_STALE_MINUTES": "2"}, "JOB_STALE_MINUTES=2 is below the minimum of 5"),
        ({"JOB_MAX_ATTEMPTS": "many"}, "JOB_MAX_ATTEMPTS='many' is not a whole number"),
        ({"JOB_MAX_ATTEMPTS": "0"}, "JOB_MAX_ATTEMPTS=0 is below the minimum of 1"),
        ({"EMAIL_MAX_ATTEMPTS": "8"}, "EMAIL_MAX_ATTEMPTS is no longer read"),
        ({"SUPPLIER_IMPORT_STALE_MINUTES": "15"}, "SUPPLIER_IMPORT_STALE_MINUTES is no longer"),
        ({**PRODUCTION, "DEBUG": "true"}, "DEBUG must be off"),
        ({**PRODUCTION, "SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must list"),
        ({**PRODUCTION, "REDIS_URL": ""}, "REDIS_URL is required in production"),
        ({**PRODUCTION, "SITE_URL": ""}, "SITE_URL is required in production"),
        (
            {"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_BROKER_URL": "amqp://x/"},
            "REDIS_BROKER_URL must be a URL starting with",
        ),
        ({"REDIS_BROKER_URL": "redis://127.0.0.1:6379/1"}, "REDIS_BROKER_URL needs REDIS_URL"),
        (
            {"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ADDRESSING_STYLE": "dns"},
            "AWS_S3_ADDRESSING_STYLE='dns' must be one of",
        ),
    ],
)
def test_bad_settings_stop_the_process_with_a_clear_message(env, message):
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_embedded_default_needs_no_environment():
    result = run_manage("check")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("Yes", True), ("off", False), ("", True)]
)
def test_env_bool_accepts_the_usual_spellings(raw, expected):
    # An empty value is unset: the default (True here) applies.
    assert Env({"FLAG": raw}).boolean("FLAG", default=True) is expected


def test_env_int_enforces_minimum():
    with pytest.raises(SettingsError, match="below the minimum"):
        Env({"N": "-1"}).integer("N", 5, minimum=0)


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("", "{'server_side_binding': True, 'prepare_threshold': 5}"), ("false", "{}")],
)
def test_postgresql_statements_are_prepared_unless_turned_off(flag, expected):
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS', {}))",
        DATABASE_URL=PRODUCTION["DATABASE_URL"],
        DATABASE_PREPARED=flag,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected  # after the shell's own notes


@pytest.mark.django_db
def test_a_statement_a_connection_repeats_is_prepared_on_the_server():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (run by .ci/run)")
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT %s::int + 41", [1])
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = %s",
            ["SELECT $1::int + 41"],
        )
        assert cursor.fetchone()[0] == 1


def _setting(name: str, **env: str) -> object:
    """The value of ``settings.<name>`` in a fresh process with ``env``."""
    result = run_manage(
        "shell",
        "-c",
        f"import json; from django.conf import settings; print(json.dumps(settings.{name}))",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_broker_has_its_own_redis_database_when_given_else_the_cache_s():
    cache = "redis://127.0.0.1:6379/0"
    assert _setting("CELERY_BROKER_URL", REDIS_URL=cache) == cache
    assert (
        _setting("CELERY_BROKER_URL", REDIS_URL=cache, REDIS_BROKER_URL="redis://127.0.0.1:6379/1")
        == "redis://127.0.0.1:6379/1"
    )


def test_check_deploy_warns_when_broker_and_cache_share_a_database():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "REDIS_BROKER_URL": ""}
    )
    assert result.returncode != 0
    assert "score_portal.W001" in result.stderr


def test_uploads_and_certificates_are_on_disk_unless_a_bucket_is_named():
    assert _setting("STORAGES['default']") == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }


def test_a_bucket_puts_uploads_and_certificates_on_s3_private_and_unsigned():
    storage = _setting(
        "STORAGES['default']",
        AWS_STORAGE_BUCKET_NAME="score-media",
        AWS_S3_ENDPOINT_URL="https://s3.example.org",
        AWS_S3_REGION_NAME="eu-west-1",
        AWS_S3_ADDRESSING_STYLE="path",
        AWS_LOCATION="/portal/",
    )
    assert storage == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "score-media",
            "endpoint_url": "https://s3.example.org",
            "region_name": "eu-west-1",
            "addressing_style": "path",
            "location": "portal",
            "default_acl": "private",
            "querystring_auth": False,
            "file_overwrite": False,
        },
    }


def test_the_s3_backend_builds_from_those_options_without_the_network():
    """django-storages accepts every option given (a misspelt one raises), offline."""
    result = run_manage(
        "shell",
        "-c",
        "from django.core.files.storage import storages; s = storages['default']; "
        "print(type(s).__name__, s.bucket_name, s.location, s.default_acl, s.querystring_auth, "
        "s.file_overwrite)",
        AWS_STORAGE_BUCKET_NAME="score-media",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "S3Storage score-media  private False False"
