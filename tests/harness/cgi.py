"""A CGI script that shows its environment, and the parser of its output."""
import json
import re

# The environment as bytes (values may be UTF-8 or anything), JSON between markers so that a
# client that prints other things around the body (s_client) can still find it.
# A request body is read and described as _BODY_LEN and _BODY_SHA256.
ENV_CGI = """#!/usr/bin/python3
import hashlib, json, os, sys
env = {k.decode("latin-1"): v.decode("latin-1") for k, v in os.environb.items()}
if os.environ.get("CONTENT_LENGTH"):
    body = sys.stdin.buffer.read(int(os.environ["CONTENT_LENGTH"]))
    env["_BODY_LEN"] = str(len(body))
    env["_BODY_SHA256"] = hashlib.sha256(body).hexdigest()
sys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n==ENV==" + json.dumps(env) + "==END==\\n")
"""


def parse_env(body):
    """{name: value} of an ENV_CGI response body; values are the environment's bytes read as
    UTF-8 (invalid bytes shown as backslash escapes)."""
    if isinstance(body, str):
        body = body.encode("latin-1")
    m = re.search(rb"==ENV==(.*)==END==", body, re.S)
    assert m, "not the CGI's output: ...%r" % body[-1000:]
    env = json.loads(m.group(1).decode("latin-1"))
    return {k: v.encode("latin-1").decode("utf-8", errors="backslashreplace")
            for k, v in env.items()}
