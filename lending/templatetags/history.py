"""`{% load history %}`: a status history row in the reader's language (lending.history_words).
`{{ change|event }}`, `{{ change|from_label }}`, `{{ change|to_label }}`, `{{ change.actor|actor }}`,
`{{ step.action|step_action }}`."""

from django import template

from lending import history_words

register = template.Library()


@register.filter
def event(change) -> str:
    return history_words.event_label(change.kind)


@register.filter
def from_label(change) -> str:
    return history_words.status_label(change, change.from_status)


@register.filter
def to_label(change) -> str:
    return history_words.status_label(change, change.to_status)


@register.filter
def actor(name: str) -> str:
    return history_words.actor_label(name)


@register.filter
def step_action(action: str) -> str:
    return history_words.action_label(action)
