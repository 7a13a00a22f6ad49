"""Every message tag the module logs (TLSnnnn) has exactly one row in docs/logging.md, and every
row there is a tag the module really logs: an admin who greps the log for a tag finds one
explanation, and the table lists nothing that cannot appear. Needs no server."""
import collections
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _code_tags():
    tags = set()
    for path in glob.glob(os.path.join(ROOT, "module", "*.c")):
        with open(path) as f:
            tags.update(re.findall(r'"(TLS\d{4})', f.read()))
    return tags


def _documented_rows():
    with open(os.path.join(ROOT, "docs", "logging.md")) as f:
        return re.findall(r"^\| (TLS\d{4}) \|", f.read(), re.M)


def test_each_tag_has_one_row():
    twice = [t for t, n in collections.Counter(_documented_rows()).items() if n > 1]
    assert not twice, "tags with more than one row in docs/logging.md: %s" % twice


def test_logged_tags_and_documented_tags_are_the_same():
    code, docs = _code_tags(), set(_documented_rows())
    assert len(code) > 40, "the tag pattern no longer matches the module's messages"
    assert code - docs == set(), "logged but not in docs/logging.md"
    assert docs - code == set(), "in docs/logging.md but never logged"
