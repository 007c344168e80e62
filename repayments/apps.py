from django.apps import AppConfig


class RepaymentsConfig(AppConfig):
    name = "repayments"

    def ready(self):
        # Origination reads members' live exposure through this seam (it never imports servicing).
        from loanfund import exposure

        from .selectors import member_exposure_provider

        exposure.register(member_exposure_provider)
