"""Report lifecycle: request (queue), generate (classify, compute, render, store), finalise (freeze).

Generation is safe to re-run: a worker killed mid-report leaves the message unacknowledged, the
next worker runs the same generation again, the provisioning run posts nothing new (it posts the
difference to what the books hold) and each format's file replaces the half-made one (one
`ReportFile` per report and format). A finalised report never changes: every path refuses it with
409 `report_finalised`, and PostgreSQL triggers refuse it underneath.
"""

from __future__ import annotations

import hashlib
import os
import time
import traceback
from collections.abc import Callable

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from compliance.models import ComplianceReport, ReportFile
from compliance.periods import parse_period
from compliance.rendering import WRITERS
from compliance.services.provisioning import period_classify
from loanfund.errors import DomainError, InvalidState
from loanfund.models import Fund
from loanfund.selectors.fund import fund_settings_as_of

FORMATS = ("xlsx", "csv", "pdf")
Progress = Callable[[str, int], None]


def report_finalised(report: ComplianceReport) -> DomainError:
    return DomainError("report_finalised", f"Report {report.pk} ({report.kind} {report.period} v{report.version}) is finalised "
                       "and never changes; request a new version that supersedes it.", status=409)


def _enqueue(report: ComplianceReport) -> None:
    from compliance.tasks import generate_report

    report_id, generation = report.pk, report.generation
    transaction.on_commit(lambda: generate_report.delay(report_id, generation))


@transaction.atomic
def report_request(*, fund: Fund, kind: str, period: str, requested_by=None, supersede: bool = False, reason: str = "",
                   enqueue: bool = True) -> ComplianceReport:
    """Queue a report. The first request for a period creates version 1; a request for a period whose
    report is not finalised regenerates it; a finalised one is refused unless `supersede` asks for a
    new version (with its reason), which records what it supersedes."""
    if kind not in ComplianceReport.Kind.values:
        raise DomainError("invalid_choice", f"Unknown report kind {kind!r}.", attr="kind", status=400)
    p = parse_period(kind, period)
    if p.end >= timezone.localdate():
        raise DomainError("period_not_closed", f"The period {p.code} ends on {p.end.isoformat()}: report it after that day.",
                          attr="period", status=409)
    Fund.objects.select_for_update().get(pk=fund.pk)  # one request per fund at a time: versions never collide
    latest = ComplianceReport.objects.filter(fund=fund, kind=kind, period=p.code).order_by("-version").first()
    if latest is None:
        report = ComplianceReport.objects.create(fund=fund, kind=kind, period=p.code, period_start=p.start, period_end=p.end,
                                                 requested_by=requested_by)
    elif latest.is_finalised:
        if not supersede:
            raise report_finalised(latest)
        if not reason.strip():
            raise DomainError("reason_required", "Say why the finalised version is superseded.", attr="reason", status=400)
        report = ComplianceReport.objects.create(fund=fund, kind=kind, period=p.code, period_start=p.start, period_end=p.end,
                                                 version=latest.version + 1, supersedes=latest, supersede_reason=reason.strip()[:500],
                                                 requested_by=requested_by)
    elif latest.status in (ComplianceReport.Status.QUEUED, ComplianceReport.Status.RUNNING):
        return latest  # already on its way
    else:
        report = latest
        report.generation += 1
        report.status, report.stage, report.progress, report.error = ComplianceReport.Status.QUEUED, "", 0, ""
        report.requested_by = requested_by
        report.save()
    if enqueue:
        _enqueue(report)
    return report


def _pause() -> None:
    # Operational knob (default 0): slows each stage so an operator (or the crash test) can watch a
    # report mid-flight.
    seconds = float(getattr(settings, "COMPLIANCE_STAGE_PAUSE_SECONDS", 0) or os.environ.get("COMPLIANCE_STAGE_PAUSE_SECONDS") or 0)
    if seconds:
        time.sleep(seconds)


def _set_progress(report_id: int, stage: str, percent: int, on_progress: Progress | None) -> None:
    ComplianceReport.objects.filter(pk=report_id).exclude(status=ComplianceReport.Status.FINALISED).update(
        stage=stage[:100], progress=max(0, min(100, percent)))
    if on_progress:
        on_progress(stage, percent)
    _pause()


def _store(report: ComplianceReport, fmt: str, write: Callable[[str], None]) -> ReportFile:
    """Render to a temporary file, hash it, and keep exactly one file per report and format."""
    # One partial file per report and format: a crashed attempt's leftover is overwritten, never piles up.
    tmp_dir = os.path.join(settings.MEDIA_ROOT, "tmp")
    os.makedirs(tmp_dir, exist_ok=True)
    tmp_path = os.path.join(tmp_dir, f"report-{report.pk}.{fmt}.partial")
    try:
        write(tmp_path)
        digest = hashlib.sha256()
        with open(tmp_path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        name = f"{report.kind}-{report.period}-v{report.version}.{fmt}"
        with transaction.atomic():
            existing = ReportFile.objects.select_for_update().filter(report=report, format=fmt).first()
            target = ReportFile(report=report, format=fmt) if existing is None else existing
            path = target.file.field.upload_to(target, name)
            if default_storage.exists(path):
                default_storage.delete(path)  # the half-made file of a crashed attempt, or the previous generation
            with open(tmp_path, "rb") as handle:
                stored = default_storage.save(path, File(handle))
            target.file.name = stored
            target.sha256 = digest.hexdigest()
            target.size = os.path.getsize(tmp_path)
            target.save()
        return target
    finally:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)


def report_generate(*, report_id: int, generation: int | None = None, on_progress: Progress | None = None) -> ComplianceReport:
    """Run one generation of a report. A stale generation, a finished one or a finalised report is left alone."""
    from compliance.reports.definitions import build_document

    with transaction.atomic():
        report = ComplianceReport.objects.select_for_update(of=("self",)).select_related("fund", "supersedes", "requested_by").get(pk=report_id)
        if report.is_finalised or report.status == ComplianceReport.Status.READY:
            return report
        if generation is not None and generation != report.generation:
            return report
        report.status, report.error = ComplianceReport.Status.RUNNING, ""
        report.stage, report.progress = "classify", 5
        report.save()
    generation = report.generation
    try:
        period = parse_period(report.kind, report.period)
        _set_progress(report.pk, "classify", 5, on_progress)
        run = period_classify(fund=report.fund, period_end=period.end, classified_by=report.requested_by,
                              reclassify_frozen=report.supersedes_id is not None)
        _set_progress(report.pk, "figures", 30, on_progress)
        settings_row = fund_settings_as_of(fund=report.fund, on=period.end)
        report.generated_at = timezone.now()
        author = report.requested_by.get_username() if report.requested_by else "system (scheduled)"
        document = build_document(report=report, period=period, run=run, settings_row=settings_row, generated_by=author)
        for index, fmt in enumerate(FORMATS):
            _set_progress(report.pk, f"render {fmt}", 40 + 20 * index, on_progress)
            _store(report, fmt, lambda path, fmt=fmt: WRITERS[fmt](document, path))
        with transaction.atomic():
            current = ComplianceReport.objects.select_for_update().get(pk=report.pk)
            if current.generation != generation or current.is_finalised:
                return current
            current.status, current.stage, current.progress = ComplianceReport.Status.READY, "ready", 100
            current.provision_run, current.snapshot_date = run, period.end
            current.generated_at, current.generated_by = report.generated_at, report.requested_by
            current.save()
        if on_progress:
            on_progress("ready", 100)
        return current
    except Exception as exc:
        with transaction.atomic():
            current = ComplianceReport.objects.select_for_update().get(pk=report.pk)
            if current.generation == generation and not current.is_finalised:
                current.status, current.stage = ComplianceReport.Status.FAILED, "failed"
                current.error = (f"{exc.code}: {exc.detail}" if isinstance(exc, DomainError) else traceback.format_exc())[-4000:]
                current.save()
        if isinstance(exc, DomainError):
            return current
        raise


@transaction.atomic
def report_finalise(*, report: ComplianceReport, finalised_by) -> ComplianceReport:
    locked = ComplianceReport.objects.select_for_update().get(pk=report.pk)
    if locked.is_finalised:
        raise report_finalised(locked)
    if locked.status != ComplianceReport.Status.READY:
        raise InvalidState(f"Only a ready report can be finalised; this one is {locked.status}.")
    if locked.provision_run_id:
        run = locked.provision_run
        if not run.frozen:
            run.frozen = True
            run.save()
    locked.status = ComplianceReport.Status.FINALISED
    locked.finalised_by, locked.finalised_at = finalised_by, timezone.now()
    locked.stage = "finalised"
    locked.save()
    return locked
