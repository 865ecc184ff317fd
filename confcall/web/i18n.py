"""The site's words in Chinese (first) and English, and how a refusal becomes a sentence.

Why one table: every page, form error and API message is looked up by a stable key, so a test
can check that each key has both languages and the pages never hard-code a sentence.  Refusals
from the services (``MoneyError``, ``BookingError``) carry their own key; their text comes
from the money catalogue (``confcall.rating.errors``) or from ``REFUSALS`` below.
"""
from __future__ import annotations

from typing import Any

__all__ = ["LANGS", "TEXT", "Refusal", "pick_lang", "refusal_text", "t"]

LANGS = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {  # key: (zh, en)
    "site.title": ("会议电话", "Conference calls"),
    "site.operator_title": ("运营控制台", "Operator console"),
    "nav.home": ("首页", "Home"),
    "nav.book": ("预约会议", "Book a call"),
    "nav.bookings": ("我的预约", "My bookings"),
    "nav.recharge": ("充值", "Recharge"),
    "nav.password": ("修改密码", "Password"),
    "nav.history": ("通话记录", "History"),
    "nav.logout": ("退出", "Log out"),
    "nav.login": ("登录", "Log in"),
    "nav.lang_other": ("English", "中文"),
    "login.title": ("登录", "Log in"),
    "login.number": ("手机号码", "Phone number"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("号码或密码错误", "Wrong number or password"),
    "login.hint": ("使用与电话服务相同的密码", "Use the same password as on the phone"),
    "logout.done": ("已退出", "You are logged out"),
    "home.title": ("我的账户", "My account"),
    "home.balance": ("余额", "Balance"),
    "home.available": ("可用", "Available"),
    "home.reserved": ("通话中预留", "Held for calls in progress"),
    "book.title": ("预约电话会议", "Book a conference call"),
    "book.initiator": ("发起人号码（先呼叫此号码）", "Your number (called first)"),
    "book.participants": ("参会号码（每行一个）", "Participants (one number per line)"),
    "book.start": ("开始时间", "Start time"),
    "book.timezone": ("时区", "Time zone"),
    "book.retry_count": ("未接通时重拨次数", "Retries when a call fails"),
    "book.retry_interval": ("重拨间隔（秒）", "Seconds between retries"),
    "book.music": ("等待时播放背景音乐", "Background music while waiting"),
    "book.check": ("检查号码和价格", "Check numbers and prices"),
    "book.submit": ("预约", "Book"),
    "book.done": ("预约成功", "Booked"),
    "book.class": ("类别", "Class"),
    "book.price": ("每分钟价格", "Price per minute"),
    "bookings.title": ("我的预约", "My bookings"),
    "bookings.none": ("还没有预约", "No bookings yet"),
    "bookings.limit": ("每页条数", "Bookings per page"),
    "bookings.cursor": ("翻页位置", "Page cursor"),
    "bookings.more": ("更多预约", "More bookings"),
    "bookings.state": ("状态", "State"),
    "bookings.start": ("开始", "Start"),
    "bookings.participants": ("参会人", "Participants"),
    "bookings.attempts": ("呼叫记录", "Dial attempts"),
    "bookings.attempt_no": ("次", "Try"),
    "bookings.result": ("结果", "Result"),
    "bookings.cause": ("原因码", "cause"),
    "bookings.cancel": ("取消预约", "Cancel booking"),
    "bookings.cancelled": ("预约已取消，不会再呼叫", "Booking cancelled: nobody will be called"),
    "bookings.calendar": ("加入日历 (.ics)", "Add to calendar (.ics)"),
    "bookings.share": ("分享给参会人", "Page for participants"),
    "bookings.upcoming": ("待开始", "Upcoming"),
    "bookings.current": ("进行中", "In progress"),
    "bookings.past": ("已结束", "Past"),
    "booking.page_title": ("电话会议邀请", "Conference call invitation"),
    "booking.page_text": ("届时系统将呼叫您的电话，接听即可加入会议。",
                          "Your phone will ring at the time; answer it to join the call."),
    "booking.unavailable": ("预约服务暂不可用", "Booking is not available right now"),
    "state.booked": ("已预约", "booked"),
    "state.claimed": ("准备中", "about to start"),
    "state.dialing": ("正在呼叫", "dialling"),
    "state.in_progress": ("进行中", "in progress"),
    "state.done": ("已完成", "done"),
    "state.failed": ("失败", "failed"),
    "state.cancelled": ("已取消", "cancelled"),
    "state.missed": ("已错过", "missed"),
    "result.answered": ("已接通", "answered"),
    "result.busy": ("忙", "busy"),
    "result.no_answer": ("无人接听", "no answer"),
    "result.congestion": ("线路忙", "no line free"),
    "result.failed": ("呼叫失败", "failed"),
    "result.refused": ("未呼叫", "not dialled"),
    "result.lost": ("结果未知", "outcome unknown"),
    "result.ringing": ("呼叫中", "in progress"),
    "recharge.title": ("充值卡充值", "Recharge with a card"),
    "recharge.target": ("充值号码（默认本机号码）", "Number to recharge (default: yours)"),
    "recharge.serial": ("卡号", "Card number"),
    "recharge.pin": ("卡密码", "Card PIN"),
    "recharge.submit": ("充值", "Recharge"),
    "recharge.done": ("已为 {number} 充值，新余额 {balance}",
                      "{number} recharged; new balance {balance}"),
    "password.title": ("修改密码", "Change password"),
    "password.old": ("原密码", "Current password"),
    "password.new": ("新密码", "New password"),
    "password.confirm": ("确认新密码", "New password again"),
    "password.submit": ("修改", "Change"),
    "password.done": ("密码已修改，电话服务也使用新密码",
                      "Password changed; the phone service uses the new one too"),
    "history.title": ("通话和账单", "Calls and statement"),
    "history.from": ("从", "From"),
    "history.to": ("到", "To"),
    "history.show": ("查询", "Show"),
    "history.csv": ("下载 CSV", "Download CSV"),
    "history.calls": ("通话", "Calls"),
    "history.ledger": ("账户流水", "Statement"),
    "history.opening": ("期初余额", "Opening balance"),
    "history.closing": ("期末余额", "Closing balance"),
    "history.none": ("此期间没有记录", "Nothing in this period"),
    "col.time": ("时间", "Time"),
    "col.conference": ("会议", "Conference"),
    "col.destination": ("号码", "Number"),
    "col.class": ("类别", "Class"),
    "col.duration": ("时长（秒）", "Seconds"),
    "col.cost": ("费用", "Cost"),
    "col.kind": ("类型", "Kind"),
    "col.amount": ("金额", "Amount"),
    "col.after": ("余额", "Balance after"),
    "col.note": ("说明", "Note"),
    "col.reference": ("流水号", "Reference"),
    "kind.recharge": ("充值", "recharge"),
    "kind.debit": ("扣费", "charge"),
    "kind.refund": ("退款", "refund"),
    "kind.adjustment": ("调账", "adjustment"),
    "class.local": ("本地", "local"),
    "class.long_distance": ("长途", "long distance"),
    "class.mobile_local": ("本地手机", "local mobile"),
    "class.mobile_long_distance": ("外地手机", "long-distance mobile"),
    "class.international": ("国际", "international"),
    "class.free": ("免费", "free"),
    "class.blocked": ("禁止", "not allowed"),
    "money.yuan": ("{yuan} 元", "¥{yuan}"),
    # form validation
    "field.required": ("{field}：必填", "{field}: required"),
    "field.too_long": ("{field}：最多 {max} 个字符", "{field}: at most {max} characters"),
    "field.too_short": ("{field}：至少 {min} 个字符", "{field}: at least {min} characters"),
    "field.digits": ("{field}：只能是数字", "{field}: digits only"),
    "field.integer": ("{field}：必须是整数", "{field}: a whole number"),
    "field.range": ("{field}：必须在 {min} 到 {max} 之间", "{field}: between {min} and {max}"),
    "field.choice": ("{field}：无效的选项", "{field}: not one of the choices"),
    "field.datetime": ("{field}：格式为 年-月-日 时:分", "{field}: as YYYY-MM-DD HH:MM"),
    "field.date": ("{field}：格式为 年-月-日", "{field}: as YYYY-MM-DD"),
    "field.timezone": ("{field}：未知时区", "{field}: unknown time zone"),
    "field.phone": ("{field}：不是有效的电话号码", "{field}: not a phone number"),
    "field.too_many": ("{field}：最多 {max} 项", "{field}: at most {max} entries"),
    "field.type": ("{field}：类型错误", "{field}: wrong type"),
    "field.unknown": ("{field}：未知字段", "{field}: unknown field"),
    "field.boolean": ("{field}：必须是 true 或 false", "{field}: true or false"),
    "field.pattern": ("{field}：格式不对", "{field}: wrong format"),
    # request-level errors
    "error.title": ("出错了", "Something went wrong"),
    "error.not_found": ("页面不存在", "No such page"),
    "error.method": ("不支持此请求方法", "Method not allowed"),
    "error.csrf": ("表单已过期，请重新提交", "The form expired; please submit it again"),
    "error.login_needed": ("请先登录", "Please log in"),
    "error.forbidden": ("没有权限", "Not allowed for your role"),
    "error.internal": ("服务器内部错误，请稍后再试（已记录）",
                       "Internal error; please try again later (it was logged)"),
    "error.bad_json": ("请求体必须是 JSON 对象", "The request body must be a JSON object"),
    "error.too_large": ("请求体过大", "Request body too large"),
    "error.rate_limited": ("尝试次数过多，请稍后再试", "Too many attempts; try again later"),
    "error.media_type": ("请求体必须是 application/json",
                         "The request body must be application/json"),
    # operator console
    "op.login_name": ("操作员名", "Operator name"),
    "op.nav.live": ("实时", "Live"),
    "op.nav.accounts": ("账户", "Accounts"),
    "op.nav.cards": ("充值卡", "Cards"),
    "op.nav.rates": ("资费", "Rates"),
    "op.nav.cdrs": ("话单", "CDRs"),
    "op.nav.audit": ("审计日志", "Audit log"),
    "op.nav.bookings": ("预约", "Bookings"),
    "op.live.spans": ("中继", "Spans"),
    "op.live.alarms": ("告警", "Alarms"),
    "op.live.channels": ("通道", "Channels"),
    "op.live.conferences": ("会议", "Conferences"),
    "op.live.no_box": ("此网站未连接交换设备（独立运行）",
                       "This site runs without the box (standalone): no live data"),
    "op.live.seat": ("席位", "Seat"),
    "op.live.span_ts": ("中继/时隙", "Span/timeslot"),
    "op.accounts.number": ("号码", "Number"),
    "op.accounts.status": ("状态", "Status"),
    "op.accounts.create": ("开户", "Create account"),
    "op.accounts.pin": ("初始密码", "Initial password"),
    "op.accounts.area": ("区号（空 = 自动）", "Home area (empty = from the number)"),
    "op.accounts.plan": ("资费方案（空 = 默认）", "Rate plan (empty = default)"),
    "op.accounts.lock": ("锁定", "Lock"),
    "op.accounts.unlock": ("解锁", "Unlock"),
    "op.accounts.adjust": ("调账", "Adjust"),
    "op.accounts.amount": ("金额（分，负数为扣减）", "Amount (fen, negative = debit)"),
    "op.accounts.reason": ("原因", "Reason"),
    "op.accounts.search": ("查找", "Find"),
    "op.cards.label": ("批次名称", "Batch label"),
    "op.cards.count": ("张数", "Count"),
    "op.cards.value": ("面值（分）", "Face value (fen)"),
    "op.cards.expires": ("有效期至", "Expires"),
    "op.cards.generate": ("生成", "Generate"),
    "op.cards.activate": ("激活", "Activate"),
    "op.cards.void": ("作废", "Void"),
    "op.cards.export": ("导出", "Export"),
    "op.cards.generated": ("已生成批次 {batch}：{count} 张。下载打印文件（仅此一次）：",
                           "Batch {batch}: {count} cards. Download the print file (once only):"),
    "op.rates.plan": ("资费方案", "Rate plan"),
    "op.rates.csv": ("费率 CSV", "Rates CSV"),
    "op.rates.import": ("导入", "Import"),
    "op.rates.export": ("导出", "Export"),
    "op.rates.quote": ("询价", "Quote"),
    "op.rates.payer": ("付费号码", "Payer"),
    "op.rates.dialled": ("被叫号码", "Dialled number"),
    "op.rates.duration": ("时长（秒）", "Duration (s)"),
    "op.cdrs.filter": ("筛选", "Filter"),
    "op.audit.operator": ("操作员", "Operator"),
    "op.audit.action": ("操作", "Action"),
    "op.audit.target": ("对象", "Target"),
    "op.audit.detail": ("详情", "Detail"),
    "op.audit.outcome": ("结果", "Outcome"),
    "op.done": ("已完成", "Done"),
}

REFUSALS: dict[str, tuple[str, str]] = {  # service refusal keys not in the money catalogue
    "booking.no_credit": ("余额不足以支付预计的通话时长",
                          "Not enough credit for the expected length"),
    "booking.capacity": ("该时段线路不足", "Not enough channels at that time"),
    "booking.too_many": ("参会人过多", "Too many participants"),
    "booking.past": ("开始时间已过", "The start time is in the past"),
    "booking.too_far": ("开始时间太远", "The start time is too far ahead"),
    "booking.already_started": ("已开始呼叫，无法取消",
                                "Dialling has started: it cannot be cancelled"),
    "booking.unknown": ("没有这个预约", "No such booking"),
    "number.blocked": ("不允许呼叫此号码", "Calls to this number are not allowed"),
    "number.malformed": ("不是有效的电话号码", "Not a phone number"),
    "number.own": ("不能呼叫自己的号码", "That is your own number"),
    "number.duplicate": ("号码重复", "That number is listed twice"),
    "operator.name": ("操作员名：2-40 个小写字母、数字或 _ . -",
                      "operator name: 2-40 of a-z 0-9 _ . - starting with a letter"),
    "operator.password": ("操作员密码至少 {low} 个字符",
                          "operator password: at least {low} characters"),
    "operator.role": ("角色必须是 admin 或 viewer", "role: admin or viewer"),
    "period.order": ("开始日期晚于结束日期", "the start date is after the end date"),
    "operator.unknown": ("操作员名或密码错误", "Wrong operator name or password"),
    "operator.exists": ("操作员已存在", "That operator exists already"),
    "operator.locked": ("操作员已锁定，请在 {until} 之后再试",
                        "Operator locked; try again after {until}"),
}


class Refusal(Exception):
    """A refusal of the site's own (operator login, a period the wrong way round), shaped like
    the services' ``MoneyError``: a stable key, parameters, a text in either language."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params

    def text(self, lang: str = "en") -> str:
        return refusal_text(lang, self.key, self.params)


def refusal_of(lang: str, exc: Exception) -> str:
    """A service refusal (MoneyError, BookingError, Refusal) in ``lang``: its own text."""
    text = getattr(exc, "text", None)
    if callable(text):
        try:
            return str(text(lang))
        except (KeyError, IndexError):
            pass
    return refusal_text(lang, str(getattr(exc, "key", "error")),
                        dict(getattr(exc, "params", {}) or {}), str(getattr(exc, "detail", "")))


def pick_lang(value: str | None) -> str:
    return value if value in LANGS else "zh"


def t(lang: str, key: str, **params: Any) -> str:
    zh, en = TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**params) if params else text


def refusal_text(lang: str, key: str, params: dict[str, Any] | None = None,
                 detail: str = "") -> str:
    """A service refusal as a sentence in ``lang``: the money catalogue, then ours, then the
    service's own detail (never a traceback: these are deliberate refusals)."""
    from confcall.rating.errors import MESSAGES, message
    params = params or {}
    if key in MESSAGES:
        try:
            return message(key, lang, **params)
        except (KeyError, IndexError):
            pass
    if key in REFUSALS:
        zh, en = REFUSALS[key]
        try:
            return (zh if lang == "zh" else en).format(**params)
        except (KeyError, IndexError):
            return zh if lang == "zh" else en
    return detail or key
