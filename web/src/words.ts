// What the API's answers mean, in words a person reads. Only wording: which action is
// allowed when is the API's to say, and the console shows whatever it answers.
import type { ApiError } from "./api/client";

const FIELD_NAMES: Record<string, string> = {
  title: "服务名称", summary: "简介", content: "服务详情", category: "类目", pricing: "计价方式",
  price: "价格", tags: "标签", logo: "Logo", capacity: "同时接单上限", requirement: "需求",
  due_at: "期望完成时间", reason: "原因", note: "说明", display_name: "服务商名称",
  company_name: "公司名称", contact: "联系方式", intro: "介绍", rating: "评价", comment: "评语",
  refund: "退款金额", release: "放款金额", name: "名称", starts_at: "开始时间",
  ends_at: "结束时间", max_price: "最高价格", amount: "金额", body: "内容",
  account: "收款账号", file_ids: "附件", kind: "类型", milestones: "分阶段", ids: "通知",
  filename: "文件名", size: "文件大小", content_type: "文件类型",
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
  FORBIDDEN: () => "你没有权限做这件事",
  NOT_FOUND: () => "找不到，或你无权查看",
  VALIDATION_FAILED: (e) => "填写有误：" + ((e.details.errors as any[]) || [])
    .map((x) => `${FIELD_NAMES[x.field] ?? x.field}${problem(x)}`).join("；"),
  INVALID_REQUEST: () => "请求格式不对",
  INVALID_TRANSITION: (e) => `订单当前状态（${e.details.status ?? "?"}）不能这样操作`,
  CANCEL_NOT_ALLOWED: () => "现在不能取消：未付款可取消；已付款需超过期望完成时间15天且无待验收的终稿",
  PROVIDER_NOT_APPROVED: () => "服务商资质尚未通过审核（或已被暂停）",
  SERVICE_INCOMPLETE: (e) => "服务信息不完整，缺少：" + ((e.details.missing as string[]) || [])
    .map((f) => FIELD_NAMES[f] ?? f).join("、"),
  LISTING_LIMIT_REACHED: () => "最多上架10个服务，请先下架一个",
  DUPLICATE_LISTING: () => "重复铺货：你已上架了相同或几乎相同的服务",
  TRIAL_SLOT_USED: () => "每个活动只能试用上架一个服务",
  TRIAL_PRICE_TOO_HIGH: () => "试用价格超过了活动的最高价格",
  CAMPAIGN_NOT_ACTIVE: () => "活动未开始或已结束",
  SERVICE_LISTED: () => "下架后才能修改",
  SERVICE_NOT_LISTED: () => "该服务未上架，不能下单",
  SERVICE_AT_CAPACITY: () => "该服务商接单已满，请稍后再试",
  SERVICE_HAS_OPEN_ORDERS: () => "还有进行中的订单，不能删除",
  INVALID_LOGO: (e) => "Logo 不符合要求：须为 80×80 像素的 JPG/PNG/BMP，不超过 50KB" +
    (e.details.problem ? `（${e.details.problem}）` : ""),
  INVALID_STATE: () => "当前状态不能这样操作",
  REVIEW_NOT_ALLOWED: (e) => REVIEW_REFUSAL[String(e.details.reason)] ?? "现在不能评价（订单未完成、已过评价期或已评价）",
  PAYMENT_FAILED: () => "付款失败",
  PRICE_NOT_AGREED: () => "价格尚未与服务商确认",
  PROPOSAL_PENDING: () => "已有一个待处理的协商，请先等对方回应或撤回",
  PROPOSAL_NOT_OPEN: () => "这个协商已经结束（已被回应、撤回或因订单状态变化而失效）",
  INSUFFICIENT_BALANCE: (e) => "可提现余额不足" +
    (e.details.available != null ? `（可提现 ${yuan(e.details.available)}）` : ""),
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
};

function problem(x: any): string {
  switch (x.problem) {
    case "required": return "必填";
    case "too short": return "太短";
    case "too long": return `太长（最多${x.max_length}字）`;
    case "too small": return `太小（至少${x.minimum}）`;
    case "too large": return `太大（最多${x.maximum}）`;
    case "unknown field": return "不认识";
    default: return `：${x.problem}`;
  }
}

/** The error in words, then the API's code so a support person can look it up. */
export function explain(e: ApiError): string {
  const words = CODES[e.code]?.(e) ?? e.message;
  return `${words}（${e.code}）`;
}

export const yuan = (fen: number | null | undefined) =>
  fen == null ? "—" : `¥${(fen / 100).toFixed(2)}`;

export const when = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—";

export const RATING: Record<string, string> = { good: "好评", neutral: "中评", bad: "差评" };

export const EVENT: Record<string, string> = {
  placed: "下单", paid: "付款", accepted: "接受", rejected: "拒绝", delivered: "上传终稿",
  approved: "验收通过", revision_requested: "要求修改", cancelled: "取消", disputed: "发起纠纷",
  resolved: "裁决", expired: "超时失效", payment_window_closed: "超时未付款",
  late_cancel_eligible: "可申请逾期取消", price_changed: "改价", proposed: "发起协商",
  extended: "同意延期", proposal_declined: "拒绝协商", proposal_withdrawn: "撤回协商",
};

export const PROPOSAL_KIND: Record<string, string> = { extension: "延期", cancel: "协商取消（部分退款）" };

export const PROPOSAL_STATUS: Record<string, string> = {
  open: "待回应", accepted: "已同意", declined: "已拒绝", withdrawn: "已撤回", lapsed: "已失效",
};

export const WITHDRAWAL_STATUS: Record<string, string> = { pending: "处理中", paid: "已到账", failed: "失败" };

export const STATEMENT_KIND: Record<string, string> = {
  release: "订单收入", withdrawal: "提现", withdrawal_returned: "提现退回",
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
export const ORDER_STATUS: Record<string, string> = {
  awaiting_payment: "待付款", awaiting_provider: "待服务商确认", in_progress: "等待上传终稿",
  in_review: "验收中", completed: "验收通过", rejected: "已拒绝", expired: "已失效",
  cancelled: "已取消", disputed: "纠纷处理中", resolved: "已裁决",
};

export const ACTOR: Record<string, string> = {
  buyer: "买家", provider: "服务商", operator: "小二", system: "系统",
};

export const PROVIDER_STATUS: Record<string, string> = {
  none: "未申请", pending: "审核中", approved: "已通过", rejected: "未通过", suspended: "已暂停",
};

export const SERVICE_STATUS: Record<string, string> = {
  draft: "草稿", listed: "已上架", delisted: "已下架",
};
