"""Process lifecycle: graceful drain on SIGTERM/SIGINT, restart,
durability across kill -9, config errors, env overrides, CLI basics."""

import json
import os
import signal
import socket
import time

import harness
from harness import GentdTestCase, http_request_bytes, run_gentd


def connect_refused(port, timeout=3.0):
    """True once a new connection to port is refused (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            s = socket.create_connection((harness.HOST, port), timeout=0.5)
        except ConnectionRefusedError:
            return True
        except OSError:
            return True
        s.close()
        time.sleep(0.05)
    return False


class ShutdownTest(GentdTestCase):
    start_server = False

    def drain_with(self, sig):
        srv = self.new_server({"shutdown_grace": "10s"})
        email = harness.unique_email("drain")
        body = json.dumps({"email": email}).encode()
        # A request whose body is half sent: in flight, not idle.
        busy = srv.raw()
        busy.send(b"POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % len(body) + body[:10])
        # An idle keep-alive connection.
        idle = srv.raw()
        idle.send(http_request_bytes("GET", "/healthz"))
        self.assertEqual(idle.read_response(timeout=3).status, 200)
        time.sleep(0.2)                  # the server has read both
        srv.send_signal(sig)
        # The idle connection is closed, new connections are refused.
        self.assertTrue(idle.wait_closed(3), "idle connection not closed on drain")
        self.assertTrue(connect_refused(srv.port), "still accepting after the signal")
        self.assertTrue(srv.running(), "exited with a request in flight")
        # The in-flight request is still answered, then the connection ends.
        busy.send(body[10:])
        r = busy.read_response(timeout=5)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json(), {"email": email, "status": "pending"})
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(busy.wait_closed(3))
        busy.close()
        idle.close()
        self.assertEqual(srv.wait_exit(10), 0, srv.log_tail())
        # The answered request was committed.
        conn = srv.db()
        n = conn.execute("SELECT count(*) FROM waitlist WHERE email = ?", (email,)).fetchone()[0]
        conn.close()
        self.assertEqual(n, 1)

    def test_sigterm_drains(self):
        self.drain_with(signal.SIGTERM)

    def test_sigint_drains(self):
        self.drain_with(signal.SIGINT)

    def test_sigterm_during_slow_login(self):
        # scrypt at 2^16 makes a sign-in take a noticeable time.
        srv = self.new_server({"scrypt_log2n": "16"})
        email = harness.unique_email("slow")
        srv.create_user(email, "slow-password-1")
        with srv.raw(timeout=10) as c:
            c.send(http_request_bytes("POST", "/v1/auth/login/",
                                      {"email": email, "password": "slow-password-1"}))
            time.sleep(0.03)
            srv.send_signal(signal.SIGTERM)
            r = c.read_response(timeout=10)
            self.assertEqual(r.status, 201, r)
            self.assertTrue(r.json()["session_token"].startswith("gses_"))
        self.assertEqual(srv.wait_exit(10), 0, srv.log_tail())
        self.assertIn("draining", srv.log_text())

    def test_no_connections_exits_promptly(self):
        srv = self.new_server()
        t0 = time.monotonic()
        srv.stop()
        self.assertLess(time.monotonic() - t0, 3)
        self.assertEqual(srv.exit_codes[-1], 0)

    def test_grace_period_cuts_stuck_requests(self):
        srv = self.new_server({"shutdown_grace": "1s", "http_body_timeout": "30s"})
        with srv.raw() as stuck:
            stuck.send(b"POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            time.sleep(0.2)
            t0 = time.monotonic()
            srv.send_signal(signal.SIGTERM)
            self.assertEqual(srv.wait_exit(8), 0, srv.log_tail())
            self.assertLess(time.monotonic() - t0, 4, "grace of 1s not applied")
            self.assertTrue(stuck.wait_closed(2))


class RestartTest(GentdTestCase):
    start_server = False

    def test_restart_keeps_data(self):
        srv = self.new_server()
        a = srv.new_account()
        tok = srv.create_token(a, ["read"])
        rules = srv.request("PUT", "/v1/sender-rules/",
                            {"inbox_id": a.inbox_id, "inbound_mode": "blocklist",
                             "inbound_patterns": ["@x.example"]}, token=a.session)
        self.assertEqual(rules[0], 200, rules[2])
        old_port = srv.port
        srv.restart()
        self.assertEqual(srv.port, old_port)
        # Session, token, rules and the account all survived.
        st, _, me = srv.request("GET", "/v1/users/me/", token=a.session)
        self.assertEqual(st, 200, me)
        self.assertEqual(me["next_step"]["action"], "send_message")
        st, _, got = srv.request("GET", "/v1/sender-rules/", token=tok["raw_token"])
        self.assertEqual(st, 200, got)
        self.assertEqual(got["inbound_mode"], "blocklist")
        self.assertEqual(got["inbound_patterns"], ["@x.example"])
        self.assertTrue(srv.login(a.email, a.password).startswith("gses_"))
        st, _, page = srv.request("GET", "/v1/tokens/?inbox_id=" + a.inbox_id,
                                  token=a.session)
        self.assertEqual([t["id"] for t in page["data"]], [tok["token_id"]])

    def test_kill_9_after_201_loses_nothing(self):
        srv = self.new_server()
        a = srv.new_account()
        made = []
        for i in range(3):
            tok = srv.create_token(a, ["read"], label="durable %d" % i)
            srv.kill()                          # right after the 201
            self.assertEqual(srv.proc.returncode, -signal.SIGKILL)
            made.append(tok)
            srv.start()
            for t in made:
                st, _, body = srv.request("GET", "/v1/sender-rules/", token=t["raw_token"])
                self.assertEqual(st, 200, "token %s lost after kill -9: %r" % (t["label"], body))
        # Also a revocation acknowledged just before the kill.
        st = srv.request("DELETE", "/v1/tokens/%s/?inbox_id=%s"
                         % (made[0]["token_id"], a.inbox_id), token=a.session)[0]
        self.assertEqual(st, 204)
        srv.kill()
        srv.start()
        self.assertEqual(srv.request("GET", "/v1/sender-rules/",
                                     token=made[0]["raw_token"])[0], 401)
        self.assertEqual(srv.request("GET", "/v1/sender-rules/",
                                     token=made[1]["raw_token"])[0], 200)
        # And the database is intact.
        conn = srv.db()
        self.assertEqual(conn.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        conn.close()


class ConfigTest(GentdTestCase):
    start_server = False

    def write_conf(self, text):
        """A config file in a fresh temp dir; {data} is its data_dir."""
        d = self.new_server(start=False)
        path = os.path.join(d.dir, "bad.conf")
        with open(path, "w") as f:
            f.write(text.replace("{data}", d.data_dir))
        return d, path

    def test_unknown_key_names_line(self):
        d, path = self.write_conf("data_dir = {data}\nlog_level = info\nbogus_key = 1\n")
        for cmd in ("serve", "check-config"):
            p = run_gentd([cmd, "--config", path], timeout=10)
            self.assertNotEqual(p.returncode, 0, cmd)
            self.assertIn("%s:3: unknown key" % path, p.stderr, cmd)
            self.assertIn("bogus_key", p.stderr)

    def test_bad_value_names_line(self):
        d, path = self.write_conf("# comment\nhttp_listen = nope\n")
        p = run_gentd(["serve", "--config", path], timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("%s:2:" % path, p.stderr)
        self.assertIn("http_listen", p.stderr)
        for line in ["http_max_body = lots", "http_header_timeout = 5 parsecs",
                     "http_max_connections = 0", "log_level = chatty",
                     "scrypt_log2n = 64", "no equals sign here"]:
            d, path = self.write_conf("hostname = x\n%s\n" % line)
            p = run_gentd(["check-config", "--config", path], timeout=10)
            self.assertNotEqual(p.returncode, 0, line)
            self.assertIn("%s:2:" % path, p.stderr, line)
        p = run_gentd(["serve", "--config", "/nonexistent/gentd.conf"], timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/nonexistent/gentd.conf", p.stderr)

    def test_good_config_checks(self):
        d = self.new_server(start=False)
        p = run_gentd(["check-config", "--config", d.conf_path], timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("config ok", p.stdout)

    def test_bad_env_override(self):
        d = self.new_server(start=False)
        p = run_gentd(["check-config", "--config", d.conf_path], timeout=10,
                      env={"GENTD_HTTP_LISTEN": "nope"})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("GENTD_HTTP_LISTEN", p.stderr)

    def test_env_override_changes_port(self):
        (other,) = harness.free_ports(1)
        srv = self.new_server(env={"GENTD_HTTP_LISTEN": "127.0.0.1:%d" % other},
                              start=False)
        srv.start(wait=False)
        srv.wait_healthy(10, port=other)
        self.assertTrue(connect_refused(srv.port, 1.0),
                        "the config file's port answers despite the override")
        srv.port = other
        self.assertEqual(srv.request("GET", "/healthz")[0], 200)
        srv.stop()

    def test_port_in_use_fails(self):
        srv = self.new_server()
        clash = self.new_server(start=False)
        clash.port = srv.port
        clash.write_config()
        clash.start(wait=False)
        rc = clash.wait_exit(10)
        self.assertNotEqual(rc, 0)
        self.assertIn("http_listen", clash.log_text())
        self.assertEqual(srv.request("GET", "/healthz")[0], 200)


class CliTest(GentdTestCase):
    start_server = False

    def test_version_and_help(self):
        p = run_gentd(["--version"], timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.strip(), r"^gentd \d+\.\d+\.\d+")
        for flag in ("--help", "-h"):
            p = run_gentd([flag], timeout=10)
            self.assertEqual(p.returncode, 0, flag)
            self.assertIn("usage", p.stdout)
            self.assertIn("gentd serve", p.stdout)
            self.assertIn("create-user", p.stdout)
        p = run_gentd(["frobnicate"], timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("frobnicate", p.stderr)

    def test_admin_create_user(self):
        srv = self.new_server(start=False)
        e1, e2 = harness.unique_email("one"), harness.unique_email("two")
        u1 = srv.create_user(e1, "password-one", tenant="Acme Corp")
        self.assertRegex(u1["tenant_id"], r"^ten_[a-z0-9]+$")
        self.assertRegex(u1["user_id"], r"^usr_[a-z0-9]+$")
        self.assertEqual(u1["email"], e1)
        self.assertEqual(u1["role"], "owner")
        self.assertIs(u1["tenant_created"], True)
        u2 = srv.create_user(e2, "password-two", tenant="Acme Corp", role="member")
        self.assertEqual(u2["tenant_id"], u1["tenant_id"])
        self.assertIs(u2["tenant_created"], False)
        self.assertEqual(u2["role"], "member")
        self.assertNotEqual(u2["user_id"], u1["user_id"])
        # Without --tenant each user gets a tenant of their own.
        u3 = srv.create_user(harness.unique_email("three"), "password-three")
        self.assertNotEqual(u3["tenant_id"], u1["tenant_id"])
        # Refusals.
        for args in (["create-user", "--email", e1, "--password", "password-x"],
                     ["create-user", "--email", "not-an-email", "--password", "password-x"],
                     ["create-user", "--email", harness.unique_email(), "--password", "short"],
                     ["create-user", "--email", harness.unique_email(),
                      "--password", "password-x", "--role", "emperor"],
                     ["create-inbox", "--tenant-id", "ten_nope", "--address", "a@b.example"],
                     ["create-inbox", "--tenant-id", u1["tenant_id"], "--address", "nope"],
                     ["approve-waitlist", "--email", harness.unique_email("never")],
                     ["no-such-command"]):
            p = srv.admin_raw(*args)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertEqual(p.stdout.strip(), "", args)
        # The server sees what the CLI made.
        srv.start()
        tok = srv.login(e2, "password-two")
        st, _, me = srv.request("GET", "/v1/users/me/", token=tok)
        self.assertEqual(st, 200, me)
        self.assertEqual((me["tenant_id"], me["role"]), (u1["tenant_id"], "member"))
        ib = srv.create_inbox(u1["tenant_id"], "Agent.Mixed@Example.COM")
        self.assertEqual(ib["address"], "agent.mixed@example.com")
        self.assertRegex(ib["inbox_id"], r"^inb_[a-z0-9]+$")
        p = srv.admin_raw("create-inbox", "--tenant-id", u1["tenant_id"],
                          "--address", "agent.mixed@example.com")
        self.assertNotEqual(p.returncode, 0, "duplicate inbox address accepted")


if __name__ == "__main__":
    harness.main()
