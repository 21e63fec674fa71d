"""The staff bot: one Telegram bot and one MAX bot (not the citizens' ones) that write notifications
to each member of staff who linked their account.

- `config.py`: the `[staff_bot]` settings (tokens as secret references, emulator addresses);
- `links.py`: who linked which chat — one-time link codes, binding and unbinding (service layer);
- `commands.py`: what a person wrote to the bot (`/start CODE`, `/stop`), read from an update (pure);
- `bots.py`: the two platforms' calls (read updates, send a text) over the connectors' clients;
- `poller.py`: the daemon's loop under a lease that reads the bots' updates and answers;
- the notification channel itself is `otklik/notify/channels/staffbot.py`.
"""

PLATFORMS = ("telegram", "max")
