from django.apps import AppConfig


class RepaymentsConfig(AppConfig):
    name = "repayments"
