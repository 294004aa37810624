#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for floe's S3 tests.

Forwards every request to an upstream S3 server (moto) and, when a rule
matches, answers with an error status instead, drops the connection after
reading part of the request body (a connection lost mid-upload), or
forwards the request and then drops the connection before the answer (a
write that landed but whose answer was lost).

Control (on the proxy's own port, never forwarded):
  POST   /__faults__       {"rules": [rule, ...]} replaces the rules
  GET    /__faults__/log   the requests seen: [{method, path, query, action,
                           status}]
  DELETE /__faults__/log   clears the log
  GET    /__creds__        container-style credentials that expire in 60 s,
                           a new AccessKeyId on every call (tests refresh)
  PUT    /latest/api/token  and GET /latest/meta-data/iam/security-credentials/
                           [ROLE]: an EC2 instance metadata service (IMDSv2):
                           the token PUT needs X-aws-ec2-metadata-token-ttl-
                           seconds, the GETs a token it issued (else 401);
                           role "floe-role", credentials as /__creds__ with
                           AccessKeyId ASIAIMDS<n>
  GET    /__imds__         {"tokens": issued, "refused": 401s answered}
The log records the access key id each request was signed with (from the
Authorization header), whether it carried a session token, and -- for the
access keys given with --secret KEY=SECRET -- whether botocore's own SigV4
implementation computes the same signature ("sig": true/false; null when
the secret is unknown).
A rule: {"method": "PUT", "path_contains": "...", "query_contains": "...",
         "header": "If-None-Match", "skip": 0, "count": 1,
         "action": "status" | "drop" | "forward_then_drop",
         "status": 503, "code": "SlowDown", "drop_after": 1000}
`skip` matching requests pass first; the next `count` get the action.
Listens on 127.0.0.1 only.
"""
import argparse
import http.client
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RULES = []
LOG = []
CREDS_SERVED = 0
IMDS = {"tokens": 0, "refused": 0, "creds": 0}
IMDS_TOKENS = set()


def match(rule, method, path, query, headers):
    if rule.get("method") and rule["method"] != method:
        return False
    if rule.get("path_contains") and rule["path_contains"] not in path:
        return False
    if rule.get("query_contains") is not None and rule["query_contains"] not in query:
        return False
    if rule.get("header") and headers.get(rule["header"]) is None:
        return False
    return True


def verify_sigv4(method, path, headers, auth, secret):
    """Recomputes the request's SigV4 signature with botocore."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    m = re.search(r"Credential=([^/]*)/(\d{8})/([^/]*)/([^/]*)/aws4_request", auth)
    signed = re.search(r"SignedHeaders=([^,]*)", auth)
    given = re.search(r"Signature=([0-9a-f]*)", auth)
    if not (m and signed and given):
        return False
    names = signed.group(1).split(";")
    hdrs = {}
    for name in names:
        if name == "host":
            continue
        value = headers.get(name)
        if value is None:
            return False  # signed but not sent
        hdrs[name] = value
    url = "http://%s%s" % (headers.get("Host"), path)
    req = AWSRequest(method=method, url=url, headers=hdrs)
    req.context["timestamp"] = headers.get("X-Amz-Date")
    creds = Credentials(m.group(1), secret, headers.get("x-amz-security-token"))
    signer = S3SigV4Auth(creds, m.group(4), m.group(3))
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    return expected == given.group(1)


def sign_request(method, path, headers, body, host, key_secret):
    """Signs a test's own unsigned request (the S3 server refuses
    anonymous reads of objects that signed requests wrote)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    key, secret = key_secret.split("=", 1)
    headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    req = AWSRequest(method=method, url="http://%s%s" % (host, path),
                     data=body, headers=headers)
    S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def take_rule(method, path, query, headers):
    with LOCK:
        for rule in RULES:
            if rule.get("count", 1) <= 0:
                continue
            if not match(rule, method, path, query, headers):
                continue
            if rule.get("skip", 0) > 0:
                rule["skip"] -= 1
                continue
            rule["count"] = rule.get("count", 1) - 1
            return dict(rule)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    secrets = {}
    sign_as = None

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def control(self, body):
        global RULES
        if self.command == "POST" and self.path.startswith("/__faults__"):
            RULES = json.loads(body or b"{}").get("rules", [])
            return self.reply(200, b"{}", "application/json")
        if self.command == "GET" and self.path.startswith("/__faults__/log"):
            with LOCK:
                data = json.dumps(LOG).encode()
            return self.reply(200, data, "application/json")
        if self.command == "DELETE":
            with LOCK:
                LOG.clear()
            return self.reply(200, b"{}", "application/json")
        if self.command == "GET" and self.path.startswith("/__creds__"):
            global CREDS_SERVED
            with LOCK:
                CREDS_SERVED += 1
                n = CREDS_SERVED
            exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
            data = json.dumps({"AccessKeyId": "ASIACONTAINER%04d" % n,
                               "SecretAccessKey": "container-secret-%d" % n,
                               "Token": "container-token-%d" % n,
                               "Expiration": exp}).encode()
            return self.reply(200, data, "application/json")
        return self.reply(404)

    def imds(self):
        path = urllib.parse.urlsplit(self.path).path
        if self.command == "PUT" and path == "/latest/api/token":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.reply(400, b"missing ttl", "text/plain")
            with LOCK:
                IMDS["tokens"] += 1
                token = "imds-token-%d" % IMDS["tokens"]
                IMDS_TOKENS.add(token)
            return self.reply(200, token.encode(), "text/plain")
        if self.headers.get("X-aws-ec2-metadata-token") not in IMDS_TOKENS:
            with LOCK:
                IMDS["refused"] += 1
            return self.reply(401, b"", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.command == "GET" and path == base:
            return self.reply(200, b"floe-role\n", "text/plain")
        if self.command == "GET" and path == base + "floe-role":
            with LOCK:
                IMDS["creds"] += 1
                n = IMDS["creds"]
            exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
            data = json.dumps({"Code": "Success", "Type": "AWS-HMAC",
                               "AccessKeyId": "ASIAIMDS%04d" % n,
                               "SecretAccessKey": "imds-secret-%d" % n,
                               "Token": "imds-session-%d" % n,
                               "Expiration": exp}).encode()
            return self.reply(200, data, "application/json")
        return self.reply(404, b"", "text/plain")

    def handle_any(self):
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if parsed.path.startswith("/latest/"):
            self.rfile.read(length)
            return self.imds()
        if parsed.path == "/__imds__":
            with LOCK:
                data = json.dumps(IMDS).encode()
            return self.reply(200, data, "application/json")
        if parsed.path.startswith("/__faults__") or parsed.path.startswith("/__creds__"):
            return self.control(self.rfile.read(length))
        rule = take_rule(self.command, parsed.path, parsed.query, self.headers)
        auth = self.headers.get("Authorization") or ""
        akid = re.search(r"Credential=([^/]*)/", auth)
        sig = None
        if akid and akid.group(1) in Handler.secrets:
            sig = verify_sigv4(self.command, self.path, self.headers, auth,
                               Handler.secrets[akid.group(1)])
        entry = {"method": self.command, "path": parsed.path, "sig": sig,
                 "query": parsed.query, "action": "forward", "status": 0,
                 "akid": akid.group(1) if akid else "",
                 "token": self.headers.get("x-amz-security-token") is not None}
        if rule is not None and rule.get("action") == "drop":
            self.rfile.read(min(length, rule.get("drop_after", 0)))
            entry["action"] = "drop"
            with LOCK:
                LOG.append(entry)
            return self.drop()
        body = self.rfile.read(length) if length else b""
        if rule is not None and rule.get("action", "status") == "status":
            code = rule.get("code", "InternalError")
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s"
                   "</Code><Message>injected by the test proxy</Message>"
                   "</Error>" % code).encode()
            entry["action"] = "status"
            entry["status"] = rule.get("status", 500)
            with LOCK:
                LOG.append(entry)
            return self.reply(rule.get("status", 500), xml)
        conn = http.client.HTTPConnection(self.upstream[0], self.upstream[1],
                                          timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "keep-alive")}
        if not auth and Handler.sign_as:
            headers = sign_request(self.command, self.path, headers, body,
                                   "%s:%d" % self.upstream, Handler.sign_as)
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        entry["status"] = resp.status
        if rule is not None and rule.get("action") == "forward_then_drop":
            entry["action"] = "forward_then_drop"
            with LOCK:
                LOG.append(entry)
            conn.close()
            return self.drop()
        with LOCK:
            LOG.append(entry)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("transfer-encoding", "connection",
                             "content-length", "server", "date"):
                continue
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length",
                             resp.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--secret", action="append", default=[],
                    help="ACCESS_KEY=SECRET whose signatures are verified")
    ap.add_argument("--sign-unsigned", default=None,
                    help="ACCESS_KEY=SECRET to sign unsigned requests with")
    args = ap.parse_args()
    Handler.sign_as = args.sign_unsigned
    Handler.secrets = dict(s.split("=", 1) for s in args.secret)
    up = urllib.parse.urlsplit(args.upstream)
    Handler.upstream = (up.hostname, up.port)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
