"""The dashboards' daily summary, and the PostgreSQL triggers that note which days it must compute again.

Every write that can change a figure (tickets, their service tags, customers' answers, automatic detail
requests, triage runs and agents' corrections) notes the hours of the tickets' creation and resolution in
helpdesk_reportchange, whatever code made it; helpdesk.daily_figures computes those days again before the
dashboards read them. Other databases (SQLite) get the tables but no triggers: their dashboards read the
tickets directly.
"""

import django.db.models.deletion
import django.utils.timezone
from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# The hour a moment falls in, the same whatever the session's time zone.
_HOUR = "date_trunc('hour', {0} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"

_MARK_TICKETS = """
CREATE FUNCTION helpdesk_report_mark_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO helpdesk_reportchange (at)
        SELECT DISTINCT {hour} FROM new_rows r, LATERAL (VALUES (r.created_at), (r.resolved_at)) AS v (x)
        WHERE v.x IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO helpdesk_reportchange (at)
        SELECT DISTINCT {hour} FROM old_rows r, LATERAL (VALUES (r.created_at), (r.resolved_at)) AS v (x)
        WHERE v.x IS NOT NULL;
    ELSE
        -- Most updates (status, assignee, updated_at) change no figure of the summary. A first response
        -- or a resolution changes only the durations on the day the ticket came (and the volume on the
        -- days it was resolved), which is far less to compute again.
        INSERT INTO helpdesk_reportchange (at, times_only)
        SELECT DISTINCT {hour}, v.times_only
        FROM old_rows o JOIN new_rows n ON n.id = o.id,
             LATERAL (SELECT (o.created_at, o.merged_into_id, o.queue_id, o.callback_requested, o.error_message)
                             IS NOT DISTINCT FROM
                             (n.created_at, n.merged_into_id, n.queue_id, n.callback_requested, n.error_message)
                      AS same) AS k,
             LATERAL (VALUES (o.created_at, k.same), (n.created_at, k.same), (o.resolved_at, false),
                             (n.resolved_at, false)) AS v (x, times_only)
        WHERE v.x IS NOT NULL
          AND (o.created_at, o.resolved_at, o.first_response_at, o.merged_into_id, o.queue_id,
               o.callback_requested, o.error_message)
              IS DISTINCT FROM
              (n.created_at, n.resolved_at, n.first_response_at, n.merged_into_id, n.queue_id,
               n.callback_requested, n.error_message);
    END IF;
    RETURN NULL;
END $$;
""".format(hour=_HOUR.format("v.x"))  # noqa: S608 - our own SQL only

# A ticket's rows elsewhere: which of them count, which columns matter, and whether they count on the
# day the ticket was resolved too (service tags: the resolved volume is per service).
_CHILDREN = {
    "helpdesk_ticketservice": ("true", ["service_id"], True),
    "helpdesk_message": ("r.direction = 'in' AND r.kind = 'customer'", ["created_at", "direction", "kind"], False),
    "mailbridge_outboxmail": ("r.automatic AND r.requested <> '[]'::jsonb", ["created_at", "automatic", "requested"], False),
    "triage_triagerun": ("true", ["result"], False),
    "triage_correction": ("r.field = 'services'", ["field", "predicted", "corrected"], False),
}  # fmt: skip

_MARK_CHILDREN = """
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO helpdesk_reportchange (at)
        SELECT DISTINCT {hour} FROM helpdesk_ticket t, LATERAL (VALUES {moments}) AS v (x)
        WHERE v.x IS NOT NULL AND t.id IN (SELECT r.ticket_id FROM new_rows r WHERE {counts});
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO helpdesk_reportchange (at)
        SELECT DISTINCT {hour} FROM helpdesk_ticket t, LATERAL (VALUES {moments}) AS v (x)
        WHERE v.x IS NOT NULL AND t.id IN (SELECT r.ticket_id FROM old_rows r WHERE {counts});
    ELSE
        INSERT INTO helpdesk_reportchange (at)
        SELECT DISTINCT {hour} FROM helpdesk_ticket t, LATERAL (VALUES {moments}) AS v (x)
        WHERE v.x IS NOT NULL AND t.id IN (
            SELECT r.ticket_id FROM old_rows r JOIN new_rows n ON n.id = r.id
            WHERE {counts} AND ({old}) IS DISTINCT FROM ({new})
            UNION ALL
            SELECT r.ticket_id FROM new_rows r JOIN old_rows o ON o.id = r.id
            WHERE {counts} AND ({old_again}) IS DISTINCT FROM ({new_again})
        );
    END IF;
    RETURN NULL;
END $$;
"""

# Emptied tables, or a service tag added, renamed or removed: every day is computed again when read.
_FORGET_ALL = """
CREATE FUNCTION helpdesk_report_forget_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM helpdesk_reportday;
    RETURN NULL;
END $$;
"""

_ROW_EVENTS = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
               "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}  # fmt: skip


def _mark_children_sql(table: str) -> str:
    counts, columns, with_resolution = _CHILDREN[table]
    moments = "(t.created_at), (t.resolved_at)" if with_resolution else "(t.created_at)"
    keyed = ["ticket_id", *columns]
    return _MARK_CHILDREN.format(
        function=f"{table}_report_mark",
        hour=_HOUR.format("v.x"),
        moments=moments,
        counts=counts,
        old=", ".join(f"r.{c}" for c in keyed),
        new=", ".join(f"n.{c}" for c in keyed),
        old_again=", ".join(f"o.{c}" for c in keyed),
        new_again=", ".join(f"r.{c}" for c in keyed),
    )


def _triggers(table: str, function: str) -> list[str]:
    statements = [
        f"CREATE TRIGGER {table}_report_{event.lower()} AFTER {event} ON {table} "
        f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        for event, transition in _ROW_EVENTS.items()
    ]
    statements.append(
        f"CREATE TRIGGER {table}_report_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION helpdesk_report_forget_all()"
    )
    return statements


def _install_statements() -> list[str]:
    statements = [_FORGET_ALL, _MARK_TICKETS, *_triggers("helpdesk_ticket", "helpdesk_report_mark_tickets")]
    for table in _CHILDREN:
        statements += [_mark_children_sql(table), *_triggers(table, f"{table}_report_mark")]
    statements.append(
        "CREATE TRIGGER helpdesk_servicetag_report_forget AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON helpdesk_servicetag FOR EACH STATEMENT EXECUTE FUNCTION helpdesk_report_forget_all()"
    )
    return statements


def _remove_statements() -> list[str]:
    statements = ["DROP TRIGGER helpdesk_servicetag_report_forget ON helpdesk_servicetag"]
    for table in ["helpdesk_ticket", *_CHILDREN]:
        statements += [
            f"DROP TRIGGER {table}_report_{event} ON {table}"
            for event in ("insert", "delete", "update", "truncate")
        ]
    statements += [f"DROP FUNCTION {table}_report_mark()" for table in _CHILDREN]
    statements += [
        "DROP FUNCTION helpdesk_report_mark_tickets()",
        "DROP FUNCTION helpdesk_report_forget_all()",
    ]
    return statements


def install_triggers(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in _install_statements():
            schema_editor.execute(statement, params=None)


def remove_triggers(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in _remove_statements():
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0004_dashboard_indexes"),
        # The triggers watch the outbox and triage's tables too.
        ("mailbridge", "0003_outbox"),
        ("triage", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReportDay",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False)),
                ("time_zone", models.CharField(max_length=64)),
                ("computed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name="ReportChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField()),
                ("times_only", models.BooleanField(db_default=False, default=False)),
            ],
            options={
                "indexes": [models.Index(fields=["at"], name="reportchange_at")],
            },
        ),
        migrations.CreateModel(
            name="DayDurations",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                (
                    "measure",
                    models.CharField(
                        choices=[
                            ("first_response", "first response"),
                            ("resolution", "resolution"),
                            ("answer", "customer's answer to a detail request"),
                        ],
                        max_length=16,
                    ),
                ),
                ("size_class", models.IntegerField()),
                ("count", models.PositiveIntegerField()),
                ("seconds", models.JSONField(default=list)),
                (
                    "queue",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="helpdesk.queue"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["measure", "day", "queue", "size_class", "count"],
                        name="daydurations_counts",
                    ),
                    models.Index(fields=["measure", "size_class", "day"], name="daydurations_class"),
                ],
            },
        ),
        migrations.CreateModel(
            name="DayErrorFigures",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("error_message", models.TextField()),
                ("tickets", models.PositiveIntegerField()),
                (
                    "queue",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="helpdesk.queue"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["day", "queue"], name="dayerrorfigures_day_queue")],
            },
        ),
        migrations.CreateModel(
            name="DayQueueFigures",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("tickets", models.PositiveIntegerField(default=0)),
                ("callbacks", models.PositiveIntegerField(default=0)),
                ("requests", models.PositiveIntegerField(default=0)),
                ("asked_tickets", models.PositiveIntegerField(default=0)),
                ("answered_tickets", models.PositiveIntegerField(default=0)),
                (
                    "queue",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="helpdesk.queue"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("day", "queue"), name="dayqueuefigures_unique")
                ],
            },
        ),
        migrations.CreateModel(
            name="DayServiceFigures",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("new", models.PositiveIntegerField(default=0)),
                ("resolved", models.PositiveIntegerField(default=0)),
                ("tagged", models.PositiveIntegerField(default=0)),
                ("removed", models.PositiveIntegerField(default=0)),
                ("added", models.PositiveIntegerField(default=0)),
                (
                    "queue",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="helpdesk.queue"
                    ),
                ),
                (
                    "service",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="helpdesk.servicetag",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["day", "queue"], name="dayservicefigures_day_queue")],
            },
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
