"""What each mail provider a factory uses requires: how to log in over IMAP, where MFA is switched on, and
which DNS records its mail needs (SPF include, usual DKIM selectors, MX hosts).

Host and port live in bot/config.py (`IMAP_PRESETS`, filled in when the config is read); this is the rest,
used by `mailroom doctor` and by the one-line login error of `mailroom sync`. The DKIM selectors are the
usual defaults; each provider's admin console shows the real one (`[organization] dkim_selectors` wins).
"""

from dataclasses import dataclass
from typing import Literal

BasicAuth = Literal["password", "client-password", "app-password", "refused"]
"""password: the mailbox password works once IMAP is on; client-password: a separate client/app password
is needed when secure login is on; app-password: only an app password (after 2-step verification);
refused: the provider refuses password login for IMAP altogether (OAuth2 only: `[mailboxes.imap.oauth2]`)."""


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    label: str
    basic_auth: BasicAuth
    login_rule: str
    """One line: what makes IMAP login work with this provider."""
    mfa_setting: str
    """Where an admin turns on MFA / secure login (not visible from outside: doctor only reminds)."""
    spf_include: str | None
    dkim_selectors: tuple[str, ...]
    mx: tuple[str, ...]
    """MX records to publish ("PRIORITY HOST."), for the fix line when a domain has none."""


OAUTH_HOWTO = "OAuth2: a [mailboxes.imap.oauth2] table with client_id and refresh_token_env (XOAUTH2)"

PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "exmail", "腾讯企业邮 (Tencent Exmail)", "client-password",
            "IMAP must be on (设置 → 客户端设置 → 开启IMAP/SMTP服务); with 微信安全登录 on, log in with a "
            "客户端专用密码 (设置 → 微信绑定/安全登录 → 生成新密码), not the web password",
            "腾讯企业邮 管理后台: 成员开启 安全登录 (微信动态码/微信扫码), 异地登录提醒",
            "spf.mail.qq.com", ("s1", "default"), ("5 mxbiz1.qq.com.", "10 mxbiz2.qq.com."),
        ),
        Provider(
            "aliyun", "阿里企业邮箱 (Alibaba Mail)", "client-password",
            "IMAP must be allowed for the account (管理后台 → 员工账号 → 客户端收发), and with 二次验证 on log in "
            "with the 三方客户端安全密码, not the web password",
            "阿里邮箱 管理后台 → 安全管理: 登录二次验证 (手机/钉钉), 异地登录提醒",
            "spf.qiye.aliyun.com", ("default", "aliyun"),
            ("5 mx1.qiye.aliyun.com.", "10 mx2.qiye.aliyun.com.", "15 mx3.qiye.aliyun.com."),
        ),
        Provider(
            "netease", "网易企业邮箱 (NetEase Qiye)", "client-password",
            "IMAP must be on (设置 → 客户端设置 → 开启IMAP/SMTP服务); with 安全登录 on, log in with the "
            "客户端授权密码 it gives, not the web password",
            "网易企业邮箱 管理后台 → 安全设置: 登录二次验证 (手机验证码/网易邮箱大师扫码)",
            "spf.163.com", ("default", "qiye"),
            ("5 qiye163mx01.mxmail.netease.com.", "50 qiye163mx02.mxmail.netease.com."),
        ),
        Provider(
            "zoho", "Zoho Mail", "client-password",
            "IMAP Access must be enabled (Settings → Mail Accounts → IMAP Access), and with MFA on log in with "
            "an application-specific password (accounts.zoho.com → Security → App Passwords)",
            "Zoho Mail Admin Console → Security & Compliance → Multi-Factor Authentication (TFA)",
            "zoho.com", ("zmail", "zoho"), ("10 mx.zoho.com.", "20 mx2.zoho.com.", "50 mx3.zoho.com."),
        ),
        Provider(
            "zoho-eu", "Zoho Mail (EU)", "client-password",
            "IMAP Access must be enabled (Settings → Mail Accounts → IMAP Access), and with MFA on log in with "
            "an application-specific password (accounts.zoho.eu → Security → App Passwords)",
            "Zoho Mail Admin Console → Security & Compliance → Multi-Factor Authentication (TFA)",
            "zoho.eu", ("zmail", "zoho"), ("10 mx.zoho.eu.", "20 mx2.zoho.eu.", "50 mx3.zoho.eu."),
        ),
        Provider(
            "zoho-cn", "Zoho 邮箱 (中国)", "client-password",
            "IMAP Access must be enabled (设置 → 邮件账户 → IMAP 访问), and with 多因素认证 on log in with an "
            "应用专用密码 (accounts.zoho.com.cn → 安全 → 应用专用密码)",
            "Zoho 邮箱 管理控制台 → 安全与合规 → 多因素认证 (TFA)",
            "zoho.com.cn", ("zmail", "zoho"), ("10 mx.zoho.com.cn.", "20 mx2.zoho.com.cn."),
        ),
        Provider(
            "gmail", "Gmail / Google Workspace", "app-password",
            "Google refuses the account password over IMAP: only an app password works (needs 2-Step "
            f"Verification; a Workspace admin may forbid app passwords), or {OAUTH_HOWTO}",
            "Google Admin console → Security → Authentication → 2-Step Verification (enforce)",
            "_spf.google.com", ("google",), ("1 smtp.google.com.",),
        ),
        Provider(
            "outlook", "Microsoft 365 / Exchange Online", "refused",
            "Microsoft 365 refuses password (basic) login over IMAP since 2022: it only accepts OAuth2, so "
            f"use {OAUTH_HOWTO} (an Entra app registration with IMAP.AccessAsUser.All)",
            "Microsoft Entra admin center → Security defaults or Conditional Access → require MFA",
            "spf.protection.outlook.com", ("selector1", "selector2"), (),
        ),
        Provider(
            "qq", "QQ邮箱", "client-password",
            "IMAP must be on (设置 → 账户 → 开启IMAP/SMTP服务), and the login password is the 授权码 it gives, "
            "not the QQ password",
            "QQ安全中心: 登录保护 / 设备锁",
            "spf.mail.qq.com", (), (),
        ),
        Provider(
            "163", "网易163邮箱", "client-password",
            "IMAP must be on (设置 → POP3/SMTP/IMAP → 开启IMAP/SMTP服务), and the login password is the "
            "客户端授权密码, not the web password",
            "网易邮箱 → 设置 → 账户安全: 登录保护 (手机验证)",
            "spf.163.com", (), (),
        ),
    )
}


def provider(name: str | None) -> Provider | None:
    return PROVIDERS.get(name) if name else None
