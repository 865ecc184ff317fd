"""Our Accounting-Request packing against pyrad's (the oracle): the same bytes for a real
record, vendor attributes included; values that cannot fit are refused."""
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pyrad import packet as rpacket

from confcall.billing import attributes
from confcall.billing.sender import load_dictionary
from confcall.billing.wire import AttributeEncoder, accounting_request

DICT = load_dictionary()
T = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEG = SimpleNamespace(session_id="bj-01-acct-01JDR8Q0W6K2V7Y3M5N8P9R4ST", box="bj-01",
                      conference_ref="bj-01-conf-01JDR8", account="+8613800138000",
                      billing_mode="carrier", role="callback", calling="95000",
                      called="02087654321", channo=17, answered_at=T, cause=38,
                      destination="+862087654321", number_class="mobile_long_distance",
                      area="20", duration_s=247, billed_s=300, charge_fen=150)


@pytest.mark.parametrize("status", ["start", "interim", "stop"])
def test_the_same_bytes_as_pyrad(status):
    attrs = attributes.build(LEG, status, T, seq=2)
    attrs["Acct-Delay-Time"] = 7
    pkt = rpacket.AcctPacket(id=42, secret=b"s3cret", dict=DICT)
    for k, v in attrs.items():
        pkt[k] = v
    assert accounting_request(42, b"s3cret", AttributeEncoder(DICT).encode(attrs)) == \
        pkt.RequestPacket()


def test_what_does_not_fit_is_refused():
    enc = AttributeEncoder(DICT)
    with pytest.raises(ValueError, match="do not fit"):
        enc.encode({"Confcall-Destination": "9" * 248})
    with pytest.raises(KeyError):
        enc.encode({"Not-An-Attribute": 1})
