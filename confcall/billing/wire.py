"""Accounting-Request bytes (RFC 2865 §5 attributes, RFC 2866 §3 packet), fast.

Why not pyrad's ``Packet`` for every request: it resolves names, tags, TLVs and types through
several layers per attribute (~0.5 ms a record here), which caps a sender near 2,000 records/s
on a loaded core. The attribute definitions still come from the dictionary pyrad parses (ours,
``radius/dictionary``); this module only packs the few types our records use, with the name
lookups done once. Tests decode our packets with pyrad and a real FreeRADIUS accepts them.

Wire format: ``code | identifier | length | authenticator(16) | attributes``; an attribute is
``type | length | value``, a vendor attribute ``26 | length | vendor-id(4) | vendor-type |
vendor-length | value``; integers and dates are 32-bit big-endian; text is UTF-8. The Request
Authenticator of an Accounting-Request is MD5(code+identifier+length+16 zero octets+attributes
+secret) (RFC 2866 §3).
"""
from __future__ import annotations

import hashlib
import ipaddress
import struct
from collections.abc import Callable, Mapping
from typing import Any

from pyrad.dictionary import Dictionary

__all__ = ["AttributeEncoder", "accounting_request"]

ACCOUNTING_REQUEST = 4
_HEADER = struct.Struct("!BBH")


def _string(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _integer(value: Any) -> bytes:
    return struct.pack("!I", int(value))


def _ipaddr(value: Any) -> bytes:
    return ipaddress.IPv4Address(value).packed


_PACKERS: dict[str, Callable[[Any], bytes]] = {
    "string": _string, "octets": _string, "integer": _integer, "date": _integer,
    "ipaddr": _ipaddr}


class AttributeEncoder:
    """Packs ``{name: value}`` into attribute bytes with a pyrad ``Dictionary``'s definitions;
    integer attributes with VALUE names take the name (``"Start"``) or the number."""

    def __init__(self, dictionary: Dictionary) -> None:
        self.dictionary = dictionary
        # name -> (prefix before the length octet, octets the prefix adds, packer, VALUEs)
        self._specs: dict[str, tuple[bytes, int, Callable[[Any], bytes], dict[str, bytes]]] = {}

    def _spec(self, name: str) -> tuple[bytes, int, Callable[[Any], bytes], dict[str, bytes]]:
        attr = self.dictionary.attributes[name]  # KeyError: not in our dictionary
        packer = _PACKERS.get(attr.type)
        if packer is None:
            raise ValueError(f"{name}: type {attr.type} is not one confcall sends")
        values = {k: (v if isinstance(v, bytes) else packer(v))  # pyrad keeps VALUEs packed
                  for k, v in attr.values.forward.items()}
        if attr.vendor:
            vendor = self.dictionary.vendors.GetForward(attr.vendor)
            spec = (struct.pack("!I", vendor) + bytes((attr.code,)), 6, packer, values)
        else:
            spec = (bytes((attr.code,)), 0, packer, values)
        self._specs[name] = spec
        return spec

    def encode(self, attributes: Mapping[str, Any]) -> bytes:
        out = bytearray()
        specs = self._specs
        for name, value in attributes.items():
            prefix, extra, packer, values = specs.get(name) or self._spec(name)
            data = values.get(value) if values and isinstance(value, str) else None
            if data is None:
                data = packer(value)
            n = len(data) + 2
            if n + extra > 255:
                raise ValueError(f"{name}: {len(data)} octets do not fit in an attribute")
            if extra:  # Vendor-Specific: 26, length, vendor id, vendor type, vendor length
                out += b"\x1a" + bytes((n + extra,)) + prefix + bytes((n,)) + data
            else:
                out += prefix + bytes((n,)) + data
        return bytes(out)


def accounting_request(ident: int, secret: bytes, attributes: bytes) -> bytes:
    """The Accounting-Request with these encoded attributes, signed with ``secret``."""
    header = _HEADER.pack(ACCOUNTING_REQUEST, ident, 20 + len(attributes))
    auth = hashlib.md5(header + bytes(16) + attributes + secret).digest()
    return header + auth + attributes
