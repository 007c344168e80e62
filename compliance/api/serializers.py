from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compliance.models import ComplianceReport, ReportFile


class ReportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ComplianceReport.Kind.choices)
    period = serializers.CharField(max_length=10, help_text='"2025-03" (monthly kinds), "2025-Q1" or "2025" (sbv_operations)')
    supersede = serializers.BooleanField(default=False, help_text="Director only: a new version of a finalised report.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReportQueuedSerializer(serializers.ModelSerializer):
    class Meta:
        model = ComplianceReport
        fields = ["id", "status", "kind", "period", "version"]


class ReportFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ReportFile
        fields = ["format", "url", "sha256", "size"]

    @extend_schema_field(serializers.URLField())
    def get_url(self, obj) -> str:
        path = reverse("report-download", kwargs={"pk": obj.report_id, "fmt": obj.format})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ProgressSerializer(serializers.Serializer):
    stage = serializers.CharField()
    percent = serializers.IntegerField()


class ReportSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    files = ReportFileSerializer(many=True, read_only=True)
    generated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    finalised_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    provision_run = serializers.SerializerMethodField()

    class Meta:
        model = ComplianceReport
        fields = ["id", "kind", "period", "period_start", "period_end", "version", "supersedes", "supersede_reason", "status",
                  "progress", "error", "snapshot_date", "generated_by", "generated_at", "finalised_by", "finalised_at", "files",
                  "provision_run"]

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, obj) -> dict:
        return {"stage": obj.stage, "percent": obj.progress}

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_provision_run(self, obj) -> dict | None:
        run = obj.provision_run
        if run is None:
            return None
        return {"id": run.pk, "version": run.version, "period_end": run.period_end.isoformat(), "loans": run.loans,
                "total_principal": str(run.total_principal.amount), "total_required": str(run.total_required.amount),
                "change": str(run.change), "journal_entry": run.journal_entry_id, "frozen": run.frozen, "currency": "VND"}
