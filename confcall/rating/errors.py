"""Errors of the money side, with a message catalogue a subscriber or operator can read.

Every error carries a stable ``key`` (for the IVR prompt or the web page), parameters, and an
English and a Chinese text.  ``str(err)`` is the English text.
"""
from __future__ import annotations

__all__ = ["MESSAGES", "MoneyError", "message"]

MESSAGES: dict[str, tuple[str, str]] = {
    "number.malformed": ("'{number}' is not a phone number: {reason}",
                         "“{number}”不是有效的电话号码：{reason}"),
    "number.blocked": ("calls to {number} are not allowed ({reason})",
                       "不允许呼叫 {number}（{reason}）"),
    "amount.type": ("amount must be a whole number of fen, got {value!r}",
                    "金额必须是以分为单位的整数，收到 {value!r}"),
    "amount.range": ("amount {value} fen is out of range ({low}..{high} fen)",
                     "金额 {value} 分超出范围（{low}..{high} 分）"),
    "account.exists": ("an account for {number} already exists", "号码 {number} 的账户已存在"),
    "account.unknown": ("no account for {number}", "号码 {number} 没有账户"),
    "account.locked": ("account {number} is locked", "账户 {number} 已锁定"),
    "account.pin_locked": ("too many wrong passwords for {number}; try again after {until}",
                           "号码 {number} 密码错误次数过多，请在 {until} 之后再试"),
    "pin.format": ("the password must be {low} to {high} digits (0-9 only)",
                   "密码必须是 {low} 到 {high} 位数字"),
    "pin.weak": ("the password is too easy to guess (all one digit or a simple sequence)",
                 "密码过于简单（相同数字或连续数字）"),
    "pin.wrong": ("wrong password", "密码错误"),
    "pin.mismatch": ("the new password and its confirmation differ", "两次输入的新密码不一致"),
    "funds.insufficient": ("balance too low: {needed} fen needed, {available} fen available",
                           "余额不足：需要 {needed} 分，可用 {available} 分"),
    "ledger.conflict": ("reference {reference} was already used for a different entry",
                        "流水号 {reference} 已用于另一笔记录"),
    "card.unknown": ("card {serial} does not exist", "卡号 {serial} 不存在"),
    "card.malformed": ("card number {serial} is not valid (wrong length or check digit)",
                       "卡号 {serial} 无效（长度或校验位错误）"),
    "card.wrong_pin": ("wrong card number or card PIN", "充值卡号或充值卡密码错误"),
    "card.locked": ("card {serial} is blocked after too many wrong PINs",
                    "充值卡 {serial} 因密码错误次数过多已被锁定"),
    "card.account_locked": ("too many wrong card numbers or card PINs; try again after {until}",
                            "充值卡号或密码错误次数过多，请在 {until} 之后再试"),
    "card.state": ("card {serial} cannot be used: it is {state}",
                   "充值卡 {serial} 无法使用：状态为{state}"),
    "card.expired": ("card {serial} expired on {expires}", "充值卡 {serial} 已于 {expires} 过期"),
    "card.batch_unknown": ("no card batch {batch}", "没有批次 {batch}"),
    "card.batch_count": ("a batch holds 1..{high} cards, got {value}",
                         "每批 1..{high} 张卡，收到 {value}"),
    "card.label": ("a card batch needs a label of 1 to 120 characters",
                   "充值卡批次需要 1 到 120 个字符的标签"),
    "adjust.kind": ("an adjustment is booked as 'adjustment' or 'refund', not {kind!r}",
                    "调账类型必须是 adjustment 或 refund，而不是 {kind!r}"),
    "adjust.note": ("an adjustment needs a reference and a note saying why",
                    "调账需要流水号和说明"),
    "card.expiry": ("the expiry {expires} is not in the future", "有效期 {expires} 不在未来"),
    "rate.file": ("rate file line {line}: {reason}", "费率文件第 {line} 行：{reason}"),
    "rate.plan_unknown": ("no rate plan {plan}", "没有资费方案 {plan}"),
    "rate.no_rate": ("no rate for {number} ({cls}) in plan {plan}",
                     "资费方案 {plan} 中没有 {number}（{cls}）的费率"),
    "rate.invalid": ("invalid rate: {reason}", "费率无效：{reason}"),
    "time.naive": ("time {value} has no time zone; times must be UTC-aware",
                   "时间 {value} 没有时区，必须使用 UTC 时间"),
    "cdr.invalid": ("invalid call record: {reason}", "通话记录无效：{reason}"),
    "credit.unknown": ("no credit reservation {reference}", "没有预留 {reference}"),
    "area.invalid": ("'{area}' is not a known area code", "“{area}”不是已知的区号"),
    "limit.reached": ("spend limit reached for {number}: {needed} fen needed, {available} fen "
                      "left this day/month", "号码 {number} 已达消费限额：需要 {needed} 分，"
                      "本日/本月剩余 {available} 分"),
    "limit.value": ("{field} must be a whole number of fen from 0 to {high}, got {value!r}",
                    "{field}必须是 0 到 {high} 分之间的整数，收到 {value!r}"),
    "limit.prepaid": ("spend limits apply to carrier-billed accounts only (a prepaid account's "
                      "balance is its limit)",
                      "消费限额只适用于运营商代收费账户（预付费账户以余额为限）"),
    "billing.mode": ("billing mode must be 'prepaid' or 'carrier', not {mode!r}",
                     "计费方式必须是 prepaid 或 carrier，而不是 {mode!r}"),
    "billing.busy": ("{number} has calls in progress; change its billing after they end",
                     "号码 {number} 正在通话，请在通话结束后再修改计费方式"),
    "fraud.conferences": (("{number} already has {limit} conferences in progress (the "
                           "account's limit)"),
                          "号码 {number} 已有 {limit} 个会议在进行（账户上限）"),
    "fraud.velocity": (("{number} spent or holds {spent} fen in the last hour; its limit is "
                        "{limit} fen an hour"), ("号码 {number} 最近一小时已消费或预留 {spent} 分，"
                                               "上限为每小时 {limit} 分")),
    "fraud.callback_storm": (("too many calls to {number} from this service; try again after "
                              "{until}"), "本服务呼叫 {number} 过于频繁，请在 {until} 之后再试"),
    "input.invalid": ("{field}: {rule}", "输入无效 {field}：{rule}"),
    "rate.empty": (("rate file has no rate rows: a plan without rows would refuse every call "
                    "(give at least one row)"), "费率文件没有费率行：没有费率的方案会拒绝所有呼叫"),
    "rate.encoding": ("rate file is not UTF-8 text ({reason}): save it as UTF-8",
                      "费率文件不是 UTF-8 文本（{reason}）：请另存为 UTF-8"),
    "db.unmigrated": ("database {url} is {state}: run `confcall db upgrade`",
                      "数据库 {url} {state}：请运行 `confcall db upgrade`"),
    "config.pepper": (("no PIN pepper configured: set CONFCALL_PEPPER or CONFCALL_PEPPER_FILE, "
                       "or start `confcall serve` once to create the default file"),
                      ("未配置密码加盐：请设置 CONFCALL_PEPPER 或 CONFCALL_PEPPER_FILE，"
                       "或先运行一次 `confcall serve` 以创建默认文件")),
}


def message(key: str, lang: str = "en", **params: object) -> str:
    en, zh = MESSAGES[key]
    return (zh if lang.startswith("zh") else en).format(**params)


class MoneyError(Exception):
    """A refusal with a reason the subscriber or operator can act on."""

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(message(key, "en", **params))

    def text(self, lang: str = "en") -> str:
        return message(self.key, lang, **self.params)
