"""Channel: SPECIFY, GET_PARAMS, blocksize, law, buffers, echo canceller, errors — through the
real shim ioctls against the simulated span."""
import errno
import os

import pytest

from confcall.dahdi import Channel, DahdiError, Law, SigType, use_libc
from confcall.dahdi.constants import ELAST


def test_specify_and_params_e1_bchannel(make_card):
    card = make_card([("E1", "pri"), ("E1", "pri")])
    with Channel(1) as ch:
        p = ch.params()
        assert (p.channo, p.spanno, p.chanpos) == (1, 1, 1)
        assert p.sigtype == SigType.CLEAR and p.curlaw == Law.ALAW
        assert p.name == "SIM/0/1/1"
    log = [name for _, name in card.device.ioctl_log]
    assert log[:2] == ["DAHDI_SPECIFY", "DAHDI_GET_PARAMS"]


def test_global_numbering_second_span_and_dchannel(make_card):
    make_card([("E1", "pri"), ("E1", "pri"), ("T1", "pri")])
    with Channel(32) as b, Channel(47) as d, Channel(86) as t1d, Channel(63) as t1b:
        assert (b.params().spanno, b.params().chanpos) == (2, 1)
        assert d.params().sigtype == SigType.HDLCFCS and d.params().chanpos == 16
        assert t1d.params().sigtype == SigType.HDLCFCS and t1d.params().chanpos == 24
        assert t1b.params().curlaw == Law.MULAW and t1b.params().spanno == 3


def test_blocksize_law_linear_bufinfo_audiomode_ec(make_card):
    card = make_card()
    sim = card.channel(5)
    with Channel(5) as ch:
        ch.set_blocksize(16)
        assert ch.blocksize() == 16 and sim.blocksize == 16
        ch.set_blocksize(160)
        ch.set_law(Law.MULAW)
        assert ch.params().curlaw == Law.MULAW
        ch.set_linear(True)
        assert sim.linear
        ch.set_bufinfo(numbufs=4, bufsize=160)
        assert ch.bufinfo()["numbufs"] == 4 and ch.bufinfo()["bufsize"] == 160
        ch.set_audiomode(True)
        assert sim.audiomode
        assert sim.ec_taps == 128
        ch.disable_echocancel()
        assert sim.ec_taps == 0


def test_bad_blocksize_is_refused_before_the_kernel(make_card):
    make_card()
    with Channel(2) as ch:
        with pytest.raises(DahdiError) as e:
            ch.set_blocksize(9000)
        assert e.value.errno == errno.EINVAL and "channel 2" in str(e.value)
        assert "DAHDI_SET_BLOCKSIZE" in str(e.value)


def test_kernel_error_names_channel_ioctl_and_errno(make_card):
    make_card()
    with Channel(16) as d:  # AUDIOMODE makes no sense on the D-channel: the device says EINVAL
        with pytest.raises(DahdiError) as e:
            d.set_audiomode(True)
    assert e.value.errno == errno.EINVAL
    assert str(e.value).startswith("channel 16: DAHDI_AUDIOMODE failed: [EINVAL]")


@pytest.mark.parametrize("channo, err", [(0, errno.EINVAL), (-3, errno.EINVAL),
                                         (2000, errno.EINVAL), (99, errno.ENXIO)])
def test_bad_channel_numbers(make_card, channo, err):
    make_card()
    with pytest.raises(DahdiError) as e:
        Channel(channo)
    assert e.value.errno == err and f"channel {channo}" in str(e.value)


def test_unconfigured_timeslot_16_on_r2_span(make_card):
    make_card([("E1", "cas")])
    with pytest.raises(DahdiError) as e:
        Channel(16)
    assert e.value.errno == errno.ENXIO


def test_channel_busy_and_others_keep_working(make_card):
    card = make_card()
    with Channel(3) as a:
        with pytest.raises(DahdiError) as e:
            Channel(3)
        assert e.value.errno == errno.EBUSY
        card.channel(3).source = lambda n: b"\x11" * n
        card.tick()
        assert a.read() == b"\x11" * 160


def test_closed_channel_gives_clear_error_and_others_unaffected(make_card):
    card = make_card()
    a, b = Channel(1), Channel(2)
    a.close()
    a.close()  # harmless twice
    with pytest.raises(DahdiError) as e:
        a.params()
    assert e.value.errno == errno.EBADF and "channel 1" in str(e.value)
    assert "closed" in str(e.value)
    with pytest.raises(DahdiError):
        a.read()
    card.channel(2).source = lambda n: b"\x42" * n
    card.tick()
    assert b.read() == b"\x42" * 160
    b.close()
    assert card.device.open_fds == []
    # the timeslot can be taken again after close
    with Channel(1) as again:
        assert again.params().channo == 1


def test_event_pending_makes_read_fail_with_elast(make_card):
    card = make_card()
    with Channel(4) as ch:
        card.tick()
        card.spans[0].raise_alarm("RED")
        with pytest.raises(DahdiError) as e:
            ch.read()
        assert e.value.errno == ELAST and Channel.event_pending_error(e.value)
        assert ch.drain_events() == [4]  # DAHDI_EVENT_ALARM
        assert ch.read() == b"\xd5" * 160 or ch.read() == b""


def test_cas_bits(make_card):
    card = make_card([("E1", "cas")])
    sim = card.channel(1)
    with Channel(1) as ch:
        assert ch.params().sigtype == SigType.CAS
        ch.set_tx_bits(0x9)
        assert sim.txbits == 0x9
        assert ch.drain_events() == [13]  # BITSCHANGED after the first SETTXBITS
        sim.set_rx_bits(0x0)
        assert ch.drain_events() == [13]
        assert ch.rx_bits() == 0x0
        with pytest.raises(DahdiError):
            ch.set_tx_bits(0x1F)


def test_rxbits_on_clear_channel_is_refused(make_card):
    make_card()
    with Channel(1) as ch, pytest.raises(DahdiError) as e:
        ch.rx_bits()
    assert "DAHDI_GETRXBITS" in str(e.value) and e.value.errno == errno.EINVAL


def test_production_path_without_hardware_says_what_is_missing():
    use_libc()
    if os.path.exists("/dev/dahdi/channel"):
        pytest.skip("this machine has DAHDI hardware")
    with pytest.raises(DahdiError) as e:
        Channel(1)
    assert e.value.errno == errno.ENOENT
    assert "channel 1: open+DAHDI_SPECIFY failed: [ENOENT]" in str(e.value)
