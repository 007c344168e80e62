"""Model fields for money: explicit precision and currency, no silent default."""

from djmoney.models.fields import MoneyField

from .money import MAX_DIGITS, VND


def money_field(verbose_name=None, **kwargs):
    kwargs.setdefault("max_digits", MAX_DIGITS)
    kwargs.setdefault("decimal_places", 0)
    kwargs.setdefault("currency_choices", [(VND, VND)])
    kwargs.setdefault("default_currency", VND)
    kwargs.setdefault("currency_max_length", 3)
    return MoneyField(verbose_name, **kwargs)
