"""Slack messages: chat.postMessage with Block Kit buttons for choices; chat.update after a click."""
from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from intents.replies import button_label
from notifiers.outbox import DeliveryError

# Errors worth retrying; anything else (channel_not_found, not_in_channel, invalid_auth...) is final.
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


def blocks(body: dict) -> list[dict] | None:
    if not body.get("choices"):
        return None
    buttons = [{"type": "button", "action_id": f"choice_{c['value']}", "value": c["value"],
                "text": {"type": "plain_text", "text": button_label(c)[:75]}}
               for c in body["choices"][:25]]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": body["text"][:3000]}},
            {"type": "actions", "block_id": "choices", "elements": buttons}]


class SlackSender:
    def __init__(self, client: WebClient):
        self.client = client

    def send(self, target: str, body: dict) -> str | None:
        """notifiers.outbox.Sender: a message to a channel, or to a user id (their DM with the app)."""
        try:
            answer = self.client.chat_postMessage(channel=target, text=body.get("text") or "", blocks=blocks(body))
        except SlackApiError as exc:
            error = exc.response.get("error", "") if exc.response is not None else ""
            status = exc.response.status_code if exc.response is not None else 0
            retry_after = exc.response.headers.get("Retry-After") if exc.response is not None else None
            raise DeliveryError(f"chat.postMessage: {error or status}",
                                transient=status == 429 or status >= 500 or error in TRANSIENT,
                                retry_after=float(retry_after) if retry_after else None) from exc
        except OSError as exc:  # timeouts, refused connections
            raise DeliveryError(f"chat.postMessage: {type(exc).__name__}") from exc
        return f"{answer.get('channel')}:{answer.get('ts')}"
