"""Delivery channels of staff notifications. One module per channel; each exposes `CHANNEL`, an
object satisfying `otklik.notify.channels.base.Channel`. The registry below is the only list."""
