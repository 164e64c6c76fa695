"""Discord's message limits, enforced: truncate with an ellipsis, or split into more messages.

Source: discord-api-docs ``developers/resources/message.mdx`` (Embed Limits) and
``developers/resources/webhook.mdx`` (Execute Webhook); the figures are copied in
``shared/data/api_samples/discord/embed_and_webhook_limits.json``. A body
breaking any of them is refused with 400 / code 50035 (Invalid Form Body).

Discord trims leading and trailing whitespace and does not count it, so every
text here is stripped before it is measured. Field names and values may not be
empty; an empty one becomes a zero-width space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ELLIPSIS = "…"
EMPTY = "\u200b"  # zero-width space: Discord's accepted "blank" field text


@dataclass(frozen=True, slots=True)
class DiscordLimits:
    """Character and count limits of one webhook message (Discord's documented values)."""

    title: int = 256
    description: int = 4096
    fields: int = 25
    field_name: int = 256
    field_value: int = 1024
    footer: int = 2048
    author: int = 256
    total: int = 6000  # title + description + field names/values + footer + author, all embeds
    embeds: int = 10
    content: int = 2000
    username: int = 80


LIMITS = DiscordLimits()


@dataclass(slots=True)
class EmbedSpec:
    """One alert's embed before the limits are applied.

    Attributes:
        title: headline. description: body text. colour: 0xRRGGBB.
        fields: ``(name, value, inline)`` rows, in display order.
        footer: footer text. timestamp: ISO-8601 time shown by Discord (or ``None``).
    """

    title: str
    colour: int
    description: str = ""
    fields: list[tuple[str, str, bool]] = field(default_factory=list)
    footer: str = ""
    timestamp: str | None = None


def truncate(text: str, limit: int) -> str:
    """``text`` stripped, and cut to ``limit`` characters ending in ``…`` when longer."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def embed_length(embed: dict[str, Any]) -> int:
    """Characters counted towards the 6000 total for one embed dict."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    size += len(embed.get("author", {}).get("name", ""))
    for item in embed.get("fields", []):
        size += len(item["name"]) + len(item["value"])
    return size


def _field(name: str, value: str, inline: bool, limits: DiscordLimits) -> dict[str, Any]:
    return {
        "name": truncate(name, limits.field_name) or EMPTY,
        "value": truncate(value, limits.field_value) or EMPTY,
        "inline": inline,
    }


def _head(spec: EmbedSpec, title: str) -> dict[str, Any]:
    embed: dict[str, Any] = {"title": title, "color": spec.colour}
    if spec.timestamp is not None:
        embed["timestamp"] = spec.timestamp
    return embed


def build_embeds(spec: EmbedSpec, limits: DiscordLimits = LIMITS) -> list[dict[str, Any]]:
    """Turn ``spec`` into embed dicts that each respect every per-embed limit.

    Title, description and footer are truncated; the description is cut further
    when title + description + footer would pass the 6000 total. Fields beyond
    25 or beyond the 6000 total move to continuation embeds titled
    ``"<title> (cont. n)"``. Every returned embed has :func:`embed_length` <= 6000.
    """
    title = truncate(spec.title, limits.title) or EMPTY
    footer = truncate(spec.footer, limits.footer)
    room = limits.total - len(title) - len(footer)
    description = truncate(spec.description, max(1, min(limits.description, room)))
    first = _head(spec, title)
    if description:
        first["description"] = description
    if footer:
        first["footer"] = {"text": footer}
    embeds = [first]
    current, size = first, embed_length(first)
    for name, value, inline in spec.fields:
        item = _field(name, value, inline, limits)
        item_size = len(item["name"]) + len(item["value"])
        rows = current.setdefault("fields", [])
        if len(rows) >= limits.fields or size + item_size > limits.total:
            cont = truncate(f"{title} (cont. {len(embeds)})", limits.title)
            current = _head(spec, cont)
            current["fields"] = rows = []
            embeds.append(current)
            size = len(cont)
        rows.append(item)
        size += item_size
    return embeds


def pack_messages(
    embeds: list[dict[str, Any]], content: str = "", limits: DiscordLimits = LIMITS
) -> list[dict[str, Any]]:
    """Group embeds into webhook bodies: <= 10 embeds and <= 6000 characters per message.

    ``content`` (truncated to 2000 characters) goes on the first message only.
    Order is preserved; each embed must already fit on its own (see :func:`build_embeds`).
    """
    messages: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for embed in embeds:
        length = embed_length(embed)
        if batch and (len(batch) >= limits.embeds or size + length > limits.total):
            messages.append({"embeds": batch})
            batch, size = [], 0
        batch.append(embed)
        size += length
    if batch:
        messages.append({"embeds": batch})
    text = truncate(content, limits.content)
    if text:
        if not messages:
            messages.append({})
        messages[0]["content"] = text
    return messages


def violations(body: dict[str, Any], limits: DiscordLimits = LIMITS) -> list[str]:
    """Every limit ``body`` breaks, as ``"embeds[0].title: 300 > 256"`` strings (empty: valid)."""
    found: list[str] = []
    if len(body.get("content", "").strip()) > limits.content:
        found.append(f"content: {len(body['content'])} > {limits.content}")
    embeds = body.get("embeds", [])
    if len(embeds) > limits.embeds:
        found.append(f"embeds: {len(embeds)} > {limits.embeds}")
    total = sum(embed_length(embed) for embed in embeds)
    if total > limits.total:
        found.append(f"embeds total: {total} > {limits.total}")
    for index, embed in enumerate(embeds):
        found.extend(f"embeds[{index}].{problem}" for problem in _embed_violations(embed, limits))
    return found


def _embed_violations(embed: dict[str, Any], limits: DiscordLimits) -> list[str]:
    checks = [
        ("title", embed.get("title", ""), limits.title),
        ("description", embed.get("description", ""), limits.description),
        ("footer.text", embed.get("footer", {}).get("text", ""), limits.footer),
    ]
    rows = embed.get("fields", [])
    for i, row in enumerate(rows):
        checks.append((f"fields[{i}].name", row["name"], limits.field_name))
        checks.append((f"fields[{i}].value", row["value"], limits.field_value))
    found = [f"{name}: {len(text)} > {limit}" for name, text, limit in checks if len(text) > limit]
    if len(rows) > limits.fields:
        found.append(f"fields: {len(rows)} > {limits.fields}")
    return found
