// What the API's answers mean, in words a person reads. Only wording: which action is
// allowed when is the API's to say, and the console shows whatever it answers.
import type { ApiError, Schema } from "./api/client";

type Order = Schema<"Order">;
/** A label map over a generated enum: a value the API adds fails to compile here. */
type Labels<K extends string> = { readonly [k in K]: string };

/** The label of a value that is typed only as a string (an event's `to`, a detail). */
export function label<K extends string>(map: Labels<K>, key: unknown): string {
  return typeof key === "string" ? (map as Record<string, string>)[key] ?? key : "";
}

const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
const str = (v: unknown): string => (typeof v === "string" || typeof v === "number" ? String(v) : "");

const FIELD_NAMES: Record<string, string> = {
  title: "服务名称", summary: "简介", content: "服务详情", category: "类目", pricing: "计价方式",
  price: "价格", tags: "标签", logo: "Logo", capacity: "同时接单上限", requirement: "需求",
  due_at: "期望完成时间", reason: "原因", note: "说明", display_name: "服务商名称",
  company_name: "公司名称", contact: "联系方式", intro: "介绍", rating: "评价", comment: "评语",
  refund: "退款金额", release: "放款金额", name: "名称", starts_at: "开始时间",
  ends_at: "结束时间", max_price: "最高价格", amount: "金额", body: "内容",
  account: "收款账号", file_ids: "附件", kind: "类型", milestones: "分阶段", ids: "通知",
  filename: "文件名", size: "文件大小", content_type: "文件类型",
  // Before and when ordering (issue 26)
  package: "套餐", extras: "加购", answers: "需求表", packages: "套餐", questions: "需求表问题",
  delivery_days: "交付天数", revisions: "修改次数", label: "问题", description: "说明",
};

// REVIEW_NOT_ALLOWED's details.reason, for the answers, follow-ups and hiding of reviews.
const REVIEW_REFUSAL: Record<string, string> = {
  not_completed: "订单尚未完成，还不能评价", already_reviewed: "你已经评价过这个订单",
  window_closed: "已过期限", not_reviewed: "对方（或你）还没有评价",
  not_readable: "对方的评价在你评价（或评价期结束）后才能查看", already_replied: "这条评价已经回复过",
  already_followed_up: "你已经追评过", already_hidden: "这条评价已被隐藏",
};

const CODES: Record<string, (e: ApiError) => string> = {
  UNAUTHENTICATED: () => "请先登录（或登录已过期）",
  FORBIDDEN: (e) => e.details.reason === "own_service" || /own service/.test(e.message)
    ? "不能购买自己的服务" : "你没有权限做这件事",
  NOT_FOUND: () => "找不到，或你无权查看",
  VALIDATION_FAILED: (e) => "填写有误：" + problems(e.details.errors).join("；"),
  INVALID_REQUEST: () => "请求格式不对",
  INVALID_TRANSITION: (e) => e.details.status
    ? `订单现在是「${label(ORDER_STATUS, e.details.status)}」，不能这样操作` : "订单现在的状态不能这样操作",
  CANCEL_NOT_ALLOWED: (e) => e.details.late_cancel_from
    ? `现在不能取消：${when(str(e.details.late_cancel_from))} 后才可逾期取消（且无待验收的终稿）`
    : "现在不能取消：已付款的订单须逾期且无待验收的终稿才可取消",
  PROVIDER_NOT_APPROVED: () => "服务商资质尚未通过审核（或已被暂停）",
  SERVICE_INCOMPLETE: (e) => "服务信息不完整，缺少：" + ((e.details.missing as string[]) || [])
    .map((f) => FIELD_NAMES[f] ?? "其他信息").join("、"),
  LISTING_LIMIT_REACHED: (e) => num(e.details.limit) != null
    ? `最多同时上架${e.details.limit}个服务，请先下架一个` : "上架数量已达上限，请先下架一个",
  DUPLICATE_LISTING: () => "重复铺货：你已上架了相同或几乎相同的服务",
  TRIAL_SLOT_USED: () => "每个活动只能试用上架一个服务",
  TRIAL_PRICE_TOO_HIGH: () => "试用价格超过了活动的最高价格",
  CAMPAIGN_NOT_ACTIVE: () => "活动未开始或已结束",
  SERVICE_LISTED: () => "下架后才能修改",
  SERVICE_NOT_LISTED: () => "该服务未上架，不能下单",
  SERVICE_AT_CAPACITY: () => "该服务商接单已满，请稍后再试",
  SERVICE_HAS_OPEN_ORDERS: () => "还有进行中的订单，不能删除",
  INVALID_LOGO: (e) => "Logo 不符合要求：" + logoProblem(e.details),
  INVALID_STATE: () => "当前状态不能这样操作",
  REVIEW_NOT_ALLOWED: (e) => REVIEW_REFUSAL[String(e.details.reason)] ?? "现在不能评价（订单未完成、已过评价期或已评价）",
  PAYMENT_FAILED: () => "付款失败",
  PRICE_NOT_AGREED: () => "价格尚未与服务商确认",
  PROPOSAL_PENDING: () => "已有一个待处理的协商，请先等对方回应或撤回",
  PROPOSAL_NOT_OPEN: () => "这个协商已经结束（已被回应、撤回或因订单状态变化而失效）",
  INSUFFICIENT_BALANCE: (e) => "可提现余额不足" +
    (num(e.details.available) != null ? `（可提现 ${yuan(num(e.details.available))}）` : "") +
    (num(e.details.minimum) != null ? `（最低提现 ${yuan(num(e.details.minimum))}）` : ""),
  PAYOUT_ACCOUNT_REQUIRED: () => "请先设置收款账号",
  UPLOAD_FAILED: () => "文件上传失败",
  NO_FILE: () => "请先选择文件",
  DELIVERABLES_WITHDRAWN: () => "订单已关闭且未付款给服务商，文件不可下载",
  IDEMPOTENCY_KEY_REUSED: () => "重复提交了不同的内容",
  IDEMPOTENCY_IN_PROGRESS: () => "上一次提交还在处理中，请稍候",
  CONFLICT: () => "数据刚刚变化了，请重试",
  PAYLOAD_TOO_LARGE: () => "内容太大",
  UNSUPPORTED_MEDIA_TYPE: () => "不支持的文件类型",
  METHOD_NOT_ALLOWED: () => "不支持的操作",
  SERVICE_UNAVAILABLE: () => "服务繁忙，请稍后重试",
  THROTTLED: () => "操作太频繁，请稍后重试",
  INTERNAL_ERROR: () => "服务器出错了",
  NETWORK: () => "连不上服务器",
  REVISIONS_EXHAUSTED: () => "所选套餐的修改次数已用完",
  // Money seams (issue 21)
  PAYMENT_PENDING: () => "买家的付款正在进行中，付款结束（成功或超时关闭）前不能改价",
  PLAN_CHANGED: () => "价格或分阶段计划刚刚变了，请看清新的计划后再付款",
  TOO_MANY_UNPAID_ORDERS: (e) => num(e.details.max_unpaid_orders) != null
    ? `未付款的订单已有${e.details.max_unpaid_orders}个，请先付款或取消其中一些` : "未付款的订单太多，请先付款或取消其中一些",
  ATTACHMENT_LIMIT_REACHED: (e) => num(e.details.max_attachments) != null
    ? `每个订单最多${e.details.max_attachments}个附件` : "附件数量已达上限",
  ORDER_CLOSED: () => "订单（或合同）已结束，不能再添加附件",
  // Contracts (issue 23)
  CONTRACT_SIGNED: () => "双方都已签约，条款不能再修改",
  INVALID_IMAGE: () => "图片不符合要求：须为 2MB 以内、能正常打开的 JPG/PNG/WEBP",
  // Disputes (issue 24)
  EVIDENCE_CLOSED: (e) => e.details.evidence_until
    ? `举证期已于 ${when(str(e.details.evidence_until))} 结束，不能再提交证据` : "举证期已结束，不能再提交证据",
};

const PROBLEMS: Record<string, string> = {
  "required": "必填", "too short": "太短", "must not be null": "必填",
  "must be in the future": "须晚于现在（按应用时钟）", "no searchable word": "没有可搜索的词",
  "must be after starts_at": "须晚于开始时间", "must equal the list price": "须等于标价",
  "must be one of the allowed values": "不是可选的值", "must be an integer": "须为整数",
  "must be a string": "须为文字", "must be a list": "须为列表", "items must be unique": "不能重复",
  "contains control characters": "含有不可见字符", "out of range": "超出范围",
  "must be an ISO 8601 date-time with offset": "日期时间格式不对", "invalid": "不可用",
  "not uploaded": "尚未上传", "not a MIME type": "类型不对", "wrong number of items": "数量不对",
  "required for an extension": "延期须填写新日期", "only for a cancel": "只用于协商取消",
  "must be true or false": "须为是或否", "must be a number in range": "超出范围",
  "on_accept steps (deposits) come before every other step": "定金（接单时放款）须排在其他阶段之前",
  "at least one step must be released on approval": "至少一个阶段须在验收通过后放款",
  "no such package": "不是这个服务的套餐", "no such extra": "不是这个服务的加购项",
  "no such question": "不是这个服务的问题", "this service has no packages": "该服务没有套餐",
  "repeated": "重复了",
  "too many submissions": "本次纠纷中你的举证次数已达上限", "already sent": "已经发送过",
  "unknown": "找不到该文件", "not the declared size": "文件大小与声明不符",
  // A form's file answer (issue 26) and a contract offer's variant.
  "not an uploaded file": "不是你上传的文件", "already used": "已被另一个订单使用",
  "not with contract": "与合同报价不能同时填写",
};

function problems(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw as Record<string, unknown>[] : [];
  return list.map((x) => {
    const field = str(x.field).split(/[.[\]]/).filter((p) => p && !/^\d+$/.test(p)).pop() ?? "";
    // A requirement-form answer is named by its question's own label.
    const name = typeof x.label === "string" ? `「${x.label}」` : FIELD_NAMES[field] ?? "内容";
    return `${name}${problem(x)}`;
  });
}

// Money is in fen on the wire: a limit on one of these fields is shown in yuan.
const MONEY = new Set(["amount", "price", "refund", "release", "max_price"]);

function amount(field: unknown, value: number | null): string {
  const name = str(field).split(/[.[\]]/).filter(Boolean).pop() ?? "";
  return MONEY.has(name) ? yuan(value) : String(value);
}

function problem(x: Record<string, unknown>): string {
  switch (x.problem) {
    case "too long": return num(x.max_length) != null ? `太长（最多${x.max_length}字）` : "太长";
    case "too small": return num(x.minimum) != null ? `太小（至少${amount(x.field, num(x.minimum))}）` : "太小";
    case "too large": return num(x.maximum) != null ? `太大（最多${amount(x.field, num(x.maximum))}）` : "太大";
    case "unknown field": return "不认识";
    case "amounts must sum to the order amount":
      return `：各阶段合计 ${yuan(num(x.sum))}，须等于订单金额 ${yuan(num(x.amount))}`;
    default: return "：" + (PROBLEMS[str(x.problem)] ?? "格式不对");
  }
}

function logoProblem(d: Record<string, unknown>): string {
  switch (d.problem) {
    case "wrong dimensions":
      return `尺寸须为 ${str(d.required).replace("x", "×")} 像素（这张是 ${str(d.width)}×${str(d.height)}）`;
    case "too large": return `文件太大（最多 ${Math.floor((num(d.max_bytes) ?? 0) / 1024)}KB）`;
    case "unsupported content type": case "content does not match Content-Type":
      return "只支持 " + (Array.isArray(d.allowed) ? d.allowed.map((t) => str(t).replace("image/", "").toUpperCase()).join("/") : "JPG/PNG/BMP") + " 图片";
    case "empty body": return "文件是空的";
    default: return "不是可用的图片";
  }
}

/** The error in words; the API's code stays out of sight (a tooltip, for support). */
export function explain(e: ApiError): string {
  return CODES[e.code]?.(e) ?? (e.status >= 500 ? "服务器出错了，请稍后重试" : "操作未成功，请检查后重试");
}

export const yuan = (fen: number | null | undefined) =>
  fen == null ? "—" : `¥${(fen / 100).toFixed(2)}`;

export const when = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—";

export const RATING: Labels<Schema<"Review">["rating"]> = { good: "好评", neutral: "中评", bad: "差评" };

export const EVENT: Record<string, string> = {
  placed: "下单", paid: "付款", accepted: "接受", rejected: "拒绝", delivered: "上传终稿",
  approved: "验收通过", revision_requested: "要求修改", cancelled: "取消", disputed: "发起纠纷",
  resolved: "裁决", expired: "超时失效", payment_window_closed: "超时未付款",
  late_cancel_eligible: "可申请逾期取消", price_changed: "改价", proposed: "发起协商",
  extended: "同意延期", proposal_declined: "拒绝协商", proposal_withdrawn: "撤回协商",
  partially_refunded: "部分退款", proposal_expired: "协商过期",
  dispute_withdrawn: "撤销纠纷",
};

export const PROPOSAL_KIND: Labels<Schema<"Proposal">["kind"]> = {
  extension: "延期", cancel: "协商取消", partial_refund: "部分退款（订单继续）",
};

export const PROPOSAL_STATUS: Labels<Schema<"Proposal">["status"]> = {
  open: "待回应", accepted: "已同意", declined: "已拒绝", withdrawn: "已撤回", lapsed: "已失效", expired: "已过期",
};

export const WITHDRAWAL_STATUS: Labels<Schema<"Withdrawal">["status"]> = { pending: "处理中", paid: "已到账", failed: "失败" };

export const STATEMENT_KIND: Labels<Schema<"StatementLine">["kind"]> = {
  release: "订单收入", withdrawal: "提现", withdrawal_returned: "提现退回",
  reversal: "定金退回（全额退款）", debt: "欠款", debt_repayment: "偿还欠款",
};

export const PAYMENT_STATUS: Record<string, string> = {
  pending: "待确认", paid: "已付款", voided: "已作废（退回）", closed: "已关闭", unknown: "未知",
};

export const MISMATCH: Record<string, string> = {
  amount_mismatch: "金额不符", unknown_payment: "未知付款", paid_twice: "重复付款",
  paid_not_funded: "已付款未入托管", funded_amount_differs: "托管金额不符",
  funded_without_gateway_payment: "托管无对应付款", gateway_ref_differs: "支付单号不符",
  late_payment_not_refunded_yet: "迟到付款尚未退款", pending_too_long: "付款待确认过久",
  funded_but_not_settled: "已托管未结清",
};

// The contract's names of the order states (the API answers status_label for the order
// itself; events carry only the state's code).
export const ORDER_STATUS: Labels<Order["status"]> = {
  awaiting_payment: "待付款", awaiting_provider: "待服务商确认", in_progress: "等待上传终稿",
  in_review: "验收中", completed: "验收通过", rejected: "已拒绝", expired: "已失效",
  cancelled: "已取消", disputed: "纠纷处理中", resolved: "已裁决",
};

export const ACTOR: Labels<Schema<"Message">["role"] | "system"> = {
  buyer: "买家", provider: "服务商", operator: "小二", system: "系统",
};

export const PROVIDER_STATUS: Labels<Schema<"Provider">["status"]> = {
  none: "未申请", pending: "审核中", approved: "已通过", rejected: "未通过", suspended: "已暂停",
};

export const SERVICE_STATUS: Labels<Schema<"Service">["status"]> = {
  draft: "草稿", listed: "已上架", delisted: "已下架",
};

export const MILESTONE_RELEASE: Labels<Schema<"MilestoneView">["release"]> = {
  on_accept: "接单时放款（定金）", on_approval: "验收通过后放款",
};

export const MILESTONE_STATUS: Labels<Schema<"MilestoneView">["status"]> = {
  pending: "待放款", released: "已放款", refunded: "已退款", split: "已裁决分配",
};

export const INQUIRY_ROLE: Labels<Schema<"Inquiry">["role"]> = { buyer: "买家", provider: "服务商" };

export const CAMPAIGN_PHASE: Labels<Schema<"CampaignView">["phase"]> = {
  upcoming: "未开始", active: "进行中", ended: "已结束",
};

export const DOCUMENT_KIND: Labels<Schema<"QualificationDocument">["kind"]> = {
  business_license: "营业执照", id_card: "身份证", other: "其他材料",
};

export const revisionsText = (n: number | null | undefined) => (n == null ? "不限修改" : `修改 ${n} 次`);
