"""The private PostgreSQL server of the tests (tests/pg.py) works, so the
store tests' ``postgres`` runs test the store, not the fixture."""
from __future__ import annotations

import psycopg


def test_each_test_gets_an_empty_database_on_loopback(pg_server, pg_url):
    assert pg_url.startswith(f"postgresql://smsc:s3cret-pw@127.0.0.1:{pg_server.port}/")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    assert pg_server.new_database() != pg_url


def test_a_wrong_password_is_refused(pg_server):
    try:
        psycopg.connect(pg_server.url().replace("s3cret-pw", "wrong"), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        assert "password authentication failed" in str(exc)
    else:
        raise AssertionError("connected with a wrong password")
