from django.apps import AppConfig


class BorrowersConfig(AppConfig):
    name = "borrowers"
