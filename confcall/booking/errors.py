"""Why a booking was refused, as a stable i18n key, the form field it concerns, and a text.

The web site renders ``err.text("zh")`` beside ``err.field``; the JSON API returns ``key``,
``field`` and ``detail``; the CLI prints ``str(err)``. Keys of the money side that a booking
can meet (``account.unknown``, ``number.blocked``…) keep their money-side texts.
"""
from __future__ import annotations

from confcall.rating.errors import MESSAGES as MONEY_MESSAGES

__all__ = ["MESSAGES", "BookingError", "message"]

MESSAGES: dict[str, tuple[str, str]] = {
    "booking.not_found": ("no booking {booking}", "没有预约 {booking}"),
    "booking.already_started": (("booking {booking} has started dialling and can no longer "
                                 "be cancelled"), "预约 {booking} 已开始呼叫，无法取消"),
    "booking.already_ended": ("booking {booking} is already {state}",
                              "预约 {booking} 已经是{state}状态"),
    "booking.no_participants": ("a booking needs at least one participant",
                                "预约至少需要一位参会者"),
    "booking.too_many_participants": ("at most {high} participants, got {value}",
                                      "参会者最多 {high} 位，收到 {value} 位"),
    "booking.start_naive": ("the start time {value} has no time zone",
                            "开始时间 {value} 没有时区"),
    "booking.start_past": ("the start time {value} is in the past",
                           "开始时间 {value} 已经过去"),
    "booking.start_too_far": ("the start time {value} is more than {days} days ahead",
                              "开始时间 {value} 超过 {days} 天之后"),
    "booking.retry_count": ("retries must be a whole number from {low} to {high}, got {value}",
                            "重试次数必须是 {low} 到 {high} 之间的整数，收到 {value}"),
    "booking.retry_interval": (("the retry interval must be {low} to {high} seconds, got "
                                "{value}"), "重试间隔必须是 {low} 到 {high} 秒，收到 {value}"),
    "booking.expected_length": (("the expected length must be {low} to {high} minutes, got "
                                 "{value}"), "预计时长必须是 {low} 到 {high} 分钟，收到 {value}"),
    "booking.music": ("background music is yes or no, got {value!r}",
                      "背景音乐只能选是或否，收到 {value!r}"),
    "booking.no_credit": (("balance too low for {minutes} minutes with everyone: {needed} "
                           "fen needed, {available} fen available"),
                          ("余额不足以支持全体通话 {minutes} 分钟：需要 {needed} 分，可用 "
                           "{available} 分")),
    "booking.capacity": ("not enough lines at {value}: {needed} needed, {free} free",
                         "{value} 时线路不足：需要 {needed} 条，空闲 {free} 条"),
    "number.own": ("{number} is the initiator's own number", "{number} 是发起人自己的号码"),
    "number.duplicate": ("{number} is listed twice", "{number} 重复了"),
}


def message(key: str, lang: str = "en", **params: object) -> str:
    en, zh = MESSAGES.get(key) or MONEY_MESSAGES[key]
    return (zh if lang.startswith("zh") else en).format(**params)


class BookingError(Exception):
    """A refusal: ``key`` (stable, for translations), ``field`` (the form field: ``start_at``,
    ``participants[2]``, ``booking``…), ``detail`` (the English text), ``params``."""

    def __init__(self, key: str, field: str, detail: str = "", **params: object) -> None:
        self.key = key
        self.field = field
        self.params = params
        self.detail = detail or message(key, "en", **params)
        super().__init__(f"{field}: {self.detail}")

    def text(self, lang: str = "en") -> str:
        return message(self.key, lang, **self.params)

    @classmethod
    def from_money(cls, err: Exception, field: str) -> BookingError:
        """A ``MoneyError`` (unknown account, malformed or blocked number) for a form field."""
        key = getattr(err, "key", "number.malformed")
        params = dict(getattr(err, "params", {}))
        return cls(key, field, str(err), **params)
