"""WeCom (企业微信): a self-built app's callback in, the same Router, replies out by the app's API; group
robots for bulletins.

- ``callback``: the ``/wecom/callback`` endpoint: checks, deduplicates and queues messages, runs them
  through the Router in a task per user and answers through the transport.
- ``incoming``: what a WeCom message means: keywords to commands, numbers to buttons, events.
- ``render``: how a reply becomes WeCom messages: text, markdown, a template card or a numbered list.
- ``transport``: sending those messages to a member, within WeCom's limits (also the outbox transport).
- ``wiring``: settings to channel, routes and outbox transports; the app menu.
- ``binding``: an admin binding a WeCom userid to a person of the roster.
- ``api``, ``answers``, ``windows``: the API client, what WeCom's answers mean (the delivery errors), and
  the expiring caches and send windows.
- ``crypto``, ``markdown``, ``robot``: the callback encryption, HTML to WeCom markdown, and the group
  robots' webhook transport.
"""

CHANNEL = "wecom"  # the channel name stored on chat accounts and outbox rows
