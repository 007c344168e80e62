from django.apps import AppConfig


class LoanfundConfig(AppConfig):
    name = "loanfund"
    verbose_name = "Loan fund (core, ledger, origination)"
