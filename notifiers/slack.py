"""Slack messages: chat.postMessage with Block Kit buttons for choices; chat.update after a click;
images and files with files_upload_v2.

files.upload is closed to apps created after 2024-05-16 and was sunset 2025-11-12 (STYLE.md). slack_sdk's
`files_upload_v2` (3.48 sources, checked 2026) calls files.getUploadURLExternal (filename, length) ->
{upload_url, file_id}, POSTs the bytes to upload_url, then files.completeUploadExternal (files =
[{id, title}], channel_id). channel_id must be a conversation id, so a person's DM is opened with
conversations.open first (chat.postMessage alone accepts a user id)."""
from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from messaging.replies import button_label
from notifiers.media import Media, attachments, send_in_parts
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


def _failure(method: str, exc: Exception) -> DeliveryError:
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = response.get("error", "") if response is not None else ""
        status = response.status_code if response is not None else 0
        retry_after = response.headers.get("Retry-After") if response is not None else None
        return DeliveryError(f"{method}: {error or status}",
                             transient=status == 429 or status >= 500 or error in TRANSIENT,
                             retry_after=float(retry_after) if retry_after else None)
    # timeouts, refused connections, an upload URL answering 5xx (urllib's HTTPError is an OSError),
    # or slack_sdk's SlackRequestError for an upload that did not answer 200
    return DeliveryError(f"{method}: {type(exc).__name__}: {exc}"[:500])


class SlackSender:
    def __init__(self, client: WebClient):
        self.client = client

    def send(self, target: str, body: dict) -> str | None:
        """notifiers.outbox.Sender: a message to a channel, or to a user id (their DM with the app),
        then each attachment. Parts already out (an earlier attempt) are skipped."""
        has_text = body.get("text") or not attachments(body)
        return send_in_parts(body, (lambda: self._post(target, body)) if has_text else None,
                             lambda media: self._upload(target, media))

    def _post(self, target: str, body: dict) -> str:
        try:
            answer = self.client.chat_postMessage(channel=target, text=body.get("text") or "", blocks=blocks(body))
        except (SlackApiError, OSError) as exc:
            raise _failure("chat.postMessage", exc) from exc
        return f"{answer.get('channel')}:{answer.get('ts')}"

    def _conversation(self, target: str) -> str:
        """A channel id as files.completeUploadExternal wants it: a user's DM is opened first."""
        if not target.startswith(("U", "W")):
            return target
        try:
            return self.client.conversations_open(users=target)["channel"]["id"]
        except (SlackApiError, OSError) as exc:
            raise _failure("conversations.open", exc) from exc

    def _upload(self, target: str, media: Media) -> str | None:
        channel = self._conversation(target)
        try:
            answer = self.client.files_upload_v2(channel=channel, file=media.content, filename=media.filename,
                                                 title=media.filename)
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise _failure("files_upload_v2", exc) from exc
        file = answer.get("file") or {}
        return f"{channel}:{file.get('id')}" if file.get("id") else None
