"""Stage 8 on real captures: xl's relocation path is root SSH (its probe's answer decides);
xm's is xend's relocation server, read from the article's xend-config.sxp and `ss`."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.adapters.toolstack import Xl, Xm
from xenlab.checks import LabCheckFailed
from xenlab.inventory import HostSpec
from xenlab.remote import Host
from xenlab.stages import relocation

from .replaykit import Replay

DATA = Path(__file__).parent / "data"
SSH_PROBE = ("ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=10 "
             "root@198.51.100.2 true")
XEND = "/etc/xen/xend-config.sxp"
READ_XEND = f"test -e {XEND} || exit 66; cat -- {XEND}"


def host(name: str, lab_ip: str, answers: dict) -> Host:
    return Host(HostSpec(name, "192.0.2.1", lab_ip=lab_ip), transport=Replay(answers))


def article_test2(old: str = "", new: str = "") -> Host:
    """The article's test2, its xend-config.sxp with `old` replaced by `new`."""
    xend = (DATA / "xend-config" / "article-test2.txt").read_text().replace(old, new)
    listening = (DATA / "ss-listen" / "article-8002.txt").read_text()
    return host("test2", "172.16.31.2", {READ_XEND: (0, xend, ""), "ss -tln": (0, listening, "")})


def test_xl_passes_when_root_ssh_logs_in_and_fails_naming_what_ssh_said():
    relocation.check_relocation_path(Xl(host("test1", "198.51.100.1", {SSH_PROBE: (0, "", "")})),
                                     "198.51.100.2", 8002)
    refused = Xl(host("test1", "198.51.100.1", {
        SSH_PROBE: (255, "", "root@198.51.100.2: Permission denied (publickey,password).\n")}))
    with pytest.raises(LabCheckFailed) as failed:
        relocation.check_relocation_path(refused, "198.51.100.2", 8002)
    assert str(failed.value).startswith(
        "test1: expected root SSH to 198.51.100.2 without a password (xl migrate's channel); "
        "saw test1: `ssh -o BatchMode=yes")
    assert str(failed.value).endswith("rc=255 after 0.0s: root@198.51.100.2: Permission denied "
                                      "(publickey,password).")


def test_xl_has_no_relocation_server_to_check_and_no_xend_hazard():
    xl = Xl(host("test2", "198.51.100.2", {}))
    relocation.check_relocation_service(xl, 8002)  # nothing sent: no answer recorded
    assert relocation.hazards(xl) == []


def test_the_articles_xend_serves_relocation_on_its_address():
    relocation.check_relocation_service(Xm(article_test2()), 8002)


@pytest.mark.parametrize("old, new, seen", [
    ("(xend-relocation-server yes)", "(xend-relocation-server no)",
     "test2: expected (xend-relocation-server yes); saw False"),
    ("(xend-relocation-port 8002)", "(xend-relocation-port 8003)",
     "test2: expected (xend-relocation-port 8002); saw 8003"),
    ("(xend-relocation-address '172.16.31.2')", "(xend-relocation-address '172.16.31.9')",
     "test2: expected (xend-relocation-address '172.16.31.2'); saw 172.16.31.9"),
], ids=["server-off", "other-port", "other-address"])
def test_a_wrong_xend_setting_fails(old, new, seen):
    with pytest.raises(LabCheckFailed) as failed:
        relocation.check_relocation_service(Xm(article_test2(old, new)), 8002)
    assert str(failed.value) == seen


def test_the_articles_open_relocation_is_reported():
    found = relocation.hazards(Xm(article_test2()))
    assert [f.what for f in found] == [
        "(xend-relocation-hosts-allow '') lets any host migrate a domain into this dom0",
        "relocation without SSL"]
