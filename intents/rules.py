"""The rule recogniser: keywords and patterns, with the CRM's client names for mentions.

Confidence: 0.9 when the intent's keywords and a known client were both found, lower when
the client was only guessed from the sentence shape, 0 for `unknown`.
"""
from __future__ import annotations

import re
from datetime import datetime

from intents.mentions import EN_PATTERN_MENTION, PATTERN_MENTION, ClientIndex, Mention
from intents.timeparse import parse_times
from intents.types import Intent

CHANNELS = [  # (pattern, channel); the first that matches wins
    (r"拜访|上门|见面|见了|面谈|面聊|约见|visit|visited|met\b|meeting", "visit"),
    (r"电话|打了?个?电话|通话|致电|call|called|phoned", "phone"),
    (r"微信|wechat", "wechat"),
    (r"邮件|email|e-mail|mailed", "email"),
]
LOG_VERBS = re.compile(r"拜访|上门|见了|见面|面谈|聊了|沟通了|谈了|打了|通了|联系了|电话|致电|微信|发了邮件|"
                       r"visited|called|met with|talked|spoke|emailed", re.I)
FOLLOWUP = re.compile(r"跟进|回访|再联系|再约|再谈|再聊|再打|follow[ -]?up", re.I)
KEYWORDS = [  # (intent, pattern)
    ("help", r"^(?:帮助|help|\?|？|你能做什么|你会什么|怎么用|菜单|功能)\s*[?？!！。]*$"),
    ("query_positions", r"持仓|仓位|头寸|持有|positions?|holdings?"),
    ("query_margin", r"保证金|资金|权益|风险度|可用|追保|追加|够不够|还够|爆仓|margin|funds|equity|risk\s*degree|balance"),
    ("client_profile", r"资料|档案|信息|画像|是谁|什么情况|基本情况|介绍|profile|who\s+is|details"),
    ("request_approval", r"申请|审批.*?(?:手续费|开户|权限|保证金)|报批"),
    ("decide_approval", r"^(?:同意|批准|驳回|拒绝|approve|reject)\s*#?\d+"),
    ("list_approvals", r"待审批|审批单|我的审批|approvals?"),
    ("ack_alert", r"收到\s*#\d+|ack\s*#?\d+"),
    ("list_alerts", r"预警|告警|警报|alerts?"),
    ("create_reminder", r"提醒我|remind\s+me"),
    ("create_lead", r"线索|潜在客户|新客户.*(?:\d{11}|感兴趣)|\blead\b"),
    ("kpi_report", r"业绩|kpi|报表|统计|数据汇总"),
    ("find_clients", r"哪些客户|哪几个客户|客户名单|列出.*客户|which clients|list clients"),
]
PRONOUN = re.compile(r"^(?:他|她|它|这个客户|该客户|这位|那位|this client|him|her)", re.I)
CLAUSE_SPLIT = re.compile(r"[，,。；;！!？?\n]")


def language_of(text: str) -> str | None:
    """zh, en, or None when the text says nothing about it ("2", "#45")."""
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    return "en" if re.search(r"[A-Za-z]{2,}", text) else None


class RuleRecognizer:
    def recognize(self, text: str, *, index: ClientIndex, now: datetime) -> Intent:
        text = text.strip()
        mentions = index.find(text)
        name = self._intent_name(text, mentions)
        intent = Intent(name=name)
        if name == "unknown":
            return intent
        mention = mentions[0] if mentions else None
        guessed = False
        if mention is None and name in ("query_margin", "query_positions", "client_profile", "log_interaction"):
            mention = self._pattern_mention(text)
            guessed = mention is not None
        if mention is not None:
            intent.slots["client"] = mention.text
        if name == "log_interaction":
            self._interaction_slots(text, intent, mention, now)
        elif name == "query_positions":
            code = re.search(r"\b([a-zA-Z]{1,2}\d{3,4})\b", text)
            if code:
                intent.slots["instrument"] = code.group(1)
        intent.confidence = 0.9 if (mention and not guessed) or name == "help" else 0.6
        return intent

    @staticmethod
    def _intent_name(text: str, mentions: list[Mention]) -> str:
        if LOG_VERBS.search(text) and (mentions or PATTERN_MENTION.search(text) or EN_PATTERN_MENTION.search(text)):
            if not re.search(r"提醒我|remind me", text, re.I):
                return "log_interaction"
        for name, pattern in KEYWORDS:
            if re.search(pattern, text, re.I):
                return name
        if mentions and len(text) <= len(mentions[0].text) + 2:  # just a name: show the card
            return "client_profile"
        return "unknown"

    @staticmethod
    def _pattern_mention(text: str) -> Mention | None:
        m = PRONOUN.match(text)
        if m:
            return None  # the conversation context supplies the client
        for pattern in (PATTERN_MENTION, EN_PATTERN_MENTION):
            m = pattern.search(text)
            if m and not re.fullmatch(r"今天|明天|昨天|客户|我的|这个|那个", m.group("name")):
                return Mention(m.group("name"), m.start("name"), m.end("name"))
        return None

    @staticmethod
    def _interaction_slots(text: str, intent: Intent, mention: Mention | None, now: datetime) -> None:
        channel = "other"
        for pattern, value in CHANNELS:
            if re.search(pattern, text, re.I):
                channel = value
                break
        intent.slots["channel"] = channel
        clauses = [c.strip() for c in CLAUSE_SPLIT.split(text) if c.strip()]
        when, followup, summary = None, None, []
        for clause in clauses:
            if FOLLOWUP.search(clause):
                times = parse_times(clause, now, prefer="future")
                if times:
                    followup = times[0]
                    continue
            times = parse_times(clause, now, prefer="past")
            if times and when is None:
                when = times[0]
            rest = clause
            for t in reversed(times):
                rest = rest[:t.start] + rest[t.end:]
            if mention is not None:
                rest = rest.replace(mention.text, "")
            rest = re.sub(r"^(?:[去和跟与给同]|拜访了?|见了|打了?(?:个)?电话|电话|微信|沟通了?|联系了?|"
                          r"visited|called|met with|met)+", "", rest.strip(), flags=re.I)
            rest = re.sub(r"^(?:了|一下|过|和|跟)+", "", rest.strip())
            if len(rest) >= 2 and not re.fullmatch(r"(?:拜访|见面|打电话|电话|微信|沟通|联系)了?", rest):
                summary.append(clause if rest != clause.strip() and len(rest) < 2 else rest)
        intent.slots["when"] = (when.iso() if when else now.date().isoformat())
        intent.slots["summary"] = "，".join(summary) or text
        if followup is not None:
            intent.slots["next_followup"] = followup.iso()
