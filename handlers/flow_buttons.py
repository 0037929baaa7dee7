"""The first moves every guided flow makes on a button press (/report, /issue, /correct and its 补报, 半月报):
取消 leaves the flow, a button of a flow no longer waiting is 「按钮已失效」, and a button of another step than the
one the flow waits at (a message left higher up) is told apart by ``Press.at``; what is left is the flow's own
step logic. A 取消 left on the message of a flow that is over leaves whatever flow is under way alone. A
flow's 确认 carries the token of the draft its message showed (``drafted``, ``confirm_button``): pressed on an
older draft's message it is 「按钮已失效」, never the confirmation of the draft shown since.
Channel-agnostic: the data is what the router hands over, without the flow's prefix."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.messages import Button
from handlers.context import Context

ButtonHandler = Callable[[Context, str], Awaitable[None]]  # a button's data after its prefix, as the router has it
Steps = Callable[[Context, "Press"], Awaitable[None]]  # a flow's step logic, for a press `flow_buttons` let through


@dataclass(frozen=True)
class Press:
    """A press of one of the flow's buttons while the flow waits (its saved state)."""

    data: str  # without the flow's prefix: "ok", "p:ZD2026-001"…
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


def drafted(state: dict[str, Any]) -> dict[str, Any]:
    """The state of a draft about to be shown for 确认, with a token of its own (a new one for every showing)."""
    return {**state, DRAFT: secrets.token_hex(4)}


def confirm_button(text: str, prefix: str, state: dict[str, Any], button: str = "ok") -> Button:
    """The 确认 button of the draft `state` (made by `drafted`): its data names that draft."""
    return Button(text, f"{prefix}:{button}:{state[DRAFT]}")


def flow_buttons(
    flow: str, *, cancel: str, cancelled: str, open_to: tuple[str, ...] = (), confirm: str | None = None
) -> Callable[[Steps], ButtonHandler]:
    """Makes a flow's step logic (taking a `Press`) its button handler: 取消 (data `cancel`) leaves the flow `flow`
    and says `cancelled` (a template), or, when `flow` is not the one under way, says it is over and leaves the
    other alone; a press while the flow does not wait is 「按钮已失效」, but for the buttons `open_to` ("p:")
    names, which act then too (with an empty state). The button `confirm` ("ok") acts only with the token of the
    draft the flow shows now (`confirm_button`); the step logic sees it without the token."""

    def handler(steps: Steps) -> ButtonHandler:
        async def pressed(ctx: Context, data: str) -> None:
            state = await ctx.flow_state(flow)
            if data == cancel:
                await _cancel(ctx, state, cancelled)
            elif state is None and not data.startswith(open_to):
                expired(ctx)
            elif confirm is not None and data.partition(":")[0] == confirm:
                token = data.partition(":")[2]
                if token and state is not None and token == state.get(DRAFT):
                    await steps(ctx, Press(confirm, state))
                else:
                    expired(ctx)  # an older draft's 确认, or one with no draft shown
            else:
                await steps(ctx, Press(data, state or {}))

        pressed.__doc__ = steps.__doc__
        return pressed

    return handler


async def _cancel(ctx: Context, state: dict[str, Any] | None, cancelled: str) -> None:
    """取消: leaves the flow when it is the one under way; else it is over already (another one goes on)."""
    if state is not None:
        await ctx.clear_flow()
        ctx.reply(cancelled)
    else:
        ctx.reply("flow_cancel_over")  # the router puts a timed-out flow's end (已自动取消) in its place
