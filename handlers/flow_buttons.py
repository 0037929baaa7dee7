"""The first moves every guided flow makes on a button press (/report, /issue, /correct and its 补报, 半月报, and
the admins' /import, /broadcast, /project_set, a node's 完成, a leave's pick among namesakes): 取消 leaves the
flow, a button of a flow no longer waiting is 「按钮已失效」, and a button of another step than the one the flow
waits at (a message left higher up) is told apart by ``Press.at``; what is left is the flow's own step logic. A
取消 left on the message of a flow that is over leaves whatever flow is under way alone. A flow's 确认 (and any
button that acts on what a message showed) carries the token of the draft its message showed (``drafted``,
``confirm_button``, ``drafted_data``): pressed on an older draft's message it is 「按钮已失效」 with what to do
(the newest message's buttons), never the confirmation of the draft shown since; pressed on a message sent
before the flow's 确认 carried a token, while such a draft waits, the draft is shown again with a button that
names it (``again``). Channel-agnostic: the data is what the router hands over, without the flow's prefix."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.messages import Button
from handlers.context import Context

ButtonHandler = Callable[[Context, str], Awaitable[None]]  # a button's data after its prefix, as the router has it
Steps = Callable[[Context, "Press"], Awaitable[None]]  # a flow's step logic, for a press `flow_buttons` let through
Again = Callable[[Context, dict[str, Any]], Awaitable[None]]  # shows the draft a flow waits on again, for 确认
Leaving = Callable[[Context, dict[str, Any]], None]  # what a flow leaves behind on 取消 (a file kept…), dropped


@dataclass(frozen=True)
class Press:
    """A press of one of the flow's buttons while the flow waits (its saved state)."""

    data: str  # without the flow's prefix (nor a draft's token): "ok", "p:ZD2026-001"…
    state: dict[str, Any]  # empty for a press `open_to` takes with no flow waiting

    @property
    def step(self) -> str | None:
        return self.state.get("step")

    @property
    def value(self) -> str:
        """What the button carries after its kind ("ZD2026-001" of "p:ZD2026-001")."""
        return self.data.partition(":")[2]

    def at(self, button: str, *steps: str) -> bool:
        """Whether `button` was pressed (exactly "ok"; "p:" any button of that kind) while the flow waits at one of
        `steps`."""
        pressed = self.data.startswith(button) if button.endswith(":") else self.data == button
        return pressed and self.step in steps


def expired(ctx: Context) -> None:
    """「按钮已失效」: the button belongs to a flow that is over, or to another of its steps."""
    ctx.reply("button_expired")


DRAFT = "draft"  # the key of the shown draft's token in a flow's state
CONFIRM_STEP = "confirm"  # the step at which a flow waits for its 确认


def drafted(state: dict[str, Any]) -> dict[str, Any]:
    """The state of a draft about to be shown for 确认, with a token of its own (a new one for every showing)."""
    return {**state, DRAFT: secrets.token_hex(4)}


def drafted_data(prefix: str, state: dict[str, Any], button: str, value: str = "") -> str:
    """The data of a button of the draft `state` (made by `drafted`): "<prefix>:<button>:<token>[:<value>]". A
    state saved without a token gives a button no draft matches (「按钮已失效」, and the draft shown again)."""
    data = f"{prefix}:{button}:{state.get(DRAFT, '')}"
    return f"{data}:{value}" if value else data


def confirm_button(text: str, prefix: str, state: dict[str, Any], button: str = "ok") -> Button:
    """The 确认 button of the draft `state` (made by `drafted`): its data names that draft."""
    return Button(text, drafted_data(prefix, state, button))


def flow_buttons(
    flow: str, *, cancel: str, cancelled: str, open_to: tuple[str, ...] = (), confirm: str | tuple[str, ...] = (),
    again: Again | None = None, confirm_steps: tuple[str, ...] = (CONFIRM_STEP,), leaving: Leaving | None = None,
) -> Callable[[Steps], ButtonHandler]:
    """Makes a flow's step logic (taking a `Press`) its button handler: 取消 (data `cancel`) leaves the flow `flow`
    (dropping what `leaving` names) and says `cancelled` (a template, given the flow's `state`), or, when `flow`
    is not the one under way, says it is over and leaves the other alone; a press while the flow does not wait is
    「按钮已失效」, but for the buttons `open_to` ("p:") names, which act then too (with an empty state). The
    buttons `confirm` ("ok", or several kinds) act only with the token of the draft the flow shows now
    (`confirm_button`, `drafted_data`); the step logic sees them without the token. Another token is an older
    message's: 「按钮已失效」, saying to use the newest message; no token at all while the flow waits for 确认 of a
    draft that has none (saved before drafts had tokens), at one of `confirm_steps`: the draft is shown again by
    `again`, to confirm."""
    tokened = (confirm,) if isinstance(confirm, str) else confirm

    def handler(steps: Steps) -> ButtonHandler:
        async def pressed(ctx: Context, data: str) -> None:
            state = await ctx.flow_state(flow)
            kind, _, rest = data.partition(":")
            if data == cancel:
                await _cancel(ctx, state, cancelled, leaving)
            elif state is None and not data.startswith(open_to):
                expired(ctx)
            elif state is not None and kind in tokened:
                token, _, value = rest.partition(":")
                if token and token == state.get(DRAFT):
                    await steps(ctx, Press(f"{kind}:{value}" if value else kind, state))
                else:
                    await _stale(ctx, state, again if state.get("step") in confirm_steps else None)
            else:
                await steps(ctx, Press(data, state or {}))

        pressed.__doc__ = steps.__doc__
        return pressed

    return handler


async def _stale(ctx: Context, state: dict[str, Any], again: Again | None) -> None:
    """A draft's button that does not name the draft the flow waits on: nothing done, and said what to do."""
    if DRAFT in state:
        ctx.reply("button_outdated", again=False)  # an older message's: the newest one's buttons act
    elif again is not None:
        ctx.reply("button_outdated", again=True)  # sent before drafts had tokens: shown again, with one
        await again(ctx, state)
    else:
        expired(ctx)


async def _cancel(ctx: Context, state: dict[str, Any] | None, cancelled: str, leaving: Leaving | None) -> None:
    """取消: leaves the flow when it is the one under way; else it is over already (another one goes on)."""
    if state is not None:
        if leaving is not None:
            leaving(ctx, state)
        await ctx.clear_flow()
        ctx.reply(cancelled, state=state)
    else:
        ctx.reply("flow_cancel_over")  # the router puts a timed-out flow's end (已自动取消) in its place
