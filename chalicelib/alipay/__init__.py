"""Everything that knows Alipay's open platform (支付宝开放平台): its wire protocol
(`protocol`), where the app's credentials come from (`credentials`) and the gateway
adapter behind `chalicelib.payments.PaymentGateway` (`gateway`)."""
