"""The first moves every guided flow makes on a button press (/report, /issue, /correct and its 补报): 取消 leaves
the flow, a button of a flow no longer waiting is 「按钮已失效」, and a button of another step than the one the flow
waits at (a message left higher up) is told apart by ``Press.at``; what is left is the flow's own step logic.
Channel-agnostic: the data is what the router hands over, without the flow's prefix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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


def flow_buttons(
    flow: str, *, cancel: str, cancelled: str, open_to: tuple[str, ...] = ()
) -> Callable[[Steps], ButtonHandler]:
    """Makes a flow's step logic (taking a `Press`) its button handler: 取消 (data `cancel`) leaves the flow `flow`
    and says `cancelled` (a template); a press while the flow does not wait is 「按钮已失效」, but for the buttons
    `open_to` ("p:") names, which act then too (with an empty state)."""

    def handler(steps: Steps) -> ButtonHandler:
        async def pressed(ctx: Context, data: str) -> None:
            state = await ctx.flow_state(flow)
            if data == cancel:
                await ctx.clear_flow()
                ctx.reply(cancelled)
            elif state is None and not data.startswith(open_to):
                expired(ctx)
            else:
                await steps(ctx, Press(data, state or {}))

        pressed.__doc__ = steps.__doc__
        return pressed

    return handler
