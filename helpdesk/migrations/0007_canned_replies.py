"""Reply templates (canned replies) become rows that managers and admins edit in the admin.

Seeds the five replies the desk shipped as files, in German, English, French and Italian (their texts are
kept here, so the migration does not depend on files that may change or go), and lets managers add,
change and delete templates; agents may view and use them. The admins group holds every permission anyway.
"""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# key -> language -> (title, body); bodies are Django templates (see CannedReply.body).
REPLIES = {
    "ask_error_message": {
        "de": (
            "Nach der genauen Fehlermeldung fragen",
            "Grüezi{% if name %} {{ name }}{% endif %}\n\nDamit wir das Problem eingrenzen können, brauchen wir die genaue Fehlermeldung. Bitte kopieren Sie den Text der Meldung (zum Beispiel «Error 9999 - no account with this name») in Ihre Antwort, statt ihn abzutippen, und schreiben Sie dazu, in welchem Programm sie erscheint.\n\nFreundliche Grüsse\n{{ agent }}\n",
        ),
        "en": (
            "Ask for the exact error message",
            'Hello{% if name %} {{ name }}{% endif %}\n\nTo narrow the problem down we need the exact error message. Please copy the text of the message (for example "Error 9999 - no account with this name") into your reply rather than typing it, and tell us which program shows it.\n\nKind regards\n{{ agent }}\n',
        ),
        "fr": (
            "Demander le message d’erreur exact",
            "Bonjour{% if name %} {{ name }}{% endif %}\n\nPour cerner le problème, nous avons besoin du message d’erreur exact. Veuillez copier le texte du message (par exemple « Error 9999 - no account with this name ») dans votre réponse plutôt que de le retaper, et nous indiquer dans quel programme il apparaît.\n\nMeilleures salutations\n{{ agent }}\n",
        ),
        "it": (
            "Chiedere il messaggio di errore esatto",
            "Buongiorno{% if name %} {{ name }}{% endif %}\n\nPer circoscrivere il problema ci serve il messaggio di errore esatto. La preghiamo di copiare il testo del messaggio (per esempio «Error 9999 - no account with this name») nella sua risposta invece di riscriverlo, e di indicarci in quale programma compare.\n\nCordiali saluti\n{{ agent }}\n",
        ),
    },
    "outage": {
        "de": (
            "Bekannte Störung: wir arbeiten daran",
            "Grüezi{% if name %} {{ name }}{% endif %}\n\nBesten Dank für Ihre Meldung. Es handelt sich um eine uns bekannte Störung; unsere Techniker arbeiten bereits an der Behebung. Den aktuellen Stand finden Sie jederzeit auf unserer Statusseite. Sie müssen nichts weiter unternehmen; wir melden uns, sobald alles wieder funktioniert.\n\nFreundliche Grüsse\n{{ agent }}\n",
        ),
        "en": (
            "Known outage: we are working on it",
            "Hello{% if name %} {{ name }}{% endif %}\n\nThank you for your message. This is an outage we know about, and our engineers are already working on it. You can follow the current state on our status page at any time. There is nothing you need to do; we will let you know as soon as everything works again.\n\nKind regards\n{{ agent }}\n",
        ),
        "fr": (
            "Panne connue : nous y travaillons",
            "Bonjour{% if name %} {{ name }}{% endif %}\n\nMerci de votre message. Il s’agit d’une panne connue et nos techniciens travaillent déjà à la résoudre. Vous pouvez suivre l’état actuel à tout moment sur notre page de statut. Vous n’avez rien à faire ; nous vous informerons dès que tout fonctionnera à nouveau.\n\nMeilleures salutations\n{{ agent }}\n",
        ),
        "it": (
            "Guasto noto: ci stiamo lavorando",
            "Buongiorno{% if name %} {{ name }}{% endif %}\n\nGrazie per la sua segnalazione. Si tratta di un guasto a noi noto e i nostri tecnici stanno già lavorando per risolverlo. Lo stato attuale è sempre consultabile sulla nostra pagina di stato. Non deve fare nulla; la informeremo non appena tutto funzionerà di nuovo.\n\nCordiali saluti\n{{ agent }}\n",
        ),
    },
    "outage_over": {
        "de": (
            "Störung behoben: bitte erneut versuchen",
            "Grüezi{% if name %} {{ name }}{% endif %}\n\nDie Störung ist behoben. Bitte versuchen Sie es noch einmal. Falls es weiterhin nicht funktioniert, antworten Sie auf diese Nachricht und kopieren Sie die genaue Fehlermeldung hinein.\n\nFreundliche Grüsse\n{{ agent }}\n",
        ),
        "en": (
            "Outage over: please try again",
            "Hello{% if name %} {{ name }}{% endif %}\n\nThe outage is over. Please try again. If it still does not work, reply to this message and paste the exact error message into it.\n\nKind regards\n{{ agent }}\n",
        ),
        "fr": (
            "Panne résolue : veuillez réessayer",
            "Bonjour{% if name %} {{ name }}{% endif %}\n\nLa panne est résolue. Veuillez réessayer. Si cela ne fonctionne toujours pas, répondez à ce message en y copiant le message d’erreur exact.\n\nMeilleures salutations\n{{ agent }}\n",
        ),
        "it": (
            "Guasto risolto: riprovi per favore",
            "Buongiorno{% if name %} {{ name }}{% endif %}\n\nIl guasto è stato risolto. La preghiamo di riprovare. Se continua a non funzionare, risponda a questo messaggio copiandovi il messaggio di errore esatto.\n\nCordiali saluti\n{{ agent }}\n",
        ),
    },
    "callback": {
        "de": (
            "Wir rufen Sie zurück",
            "Grüezi{% if name %} {{ name }}{% endif %}\n\nWir rufen Sie {% if callback_number %}unter {{ callback_number }} {% endif %}zurück, sobald ein Techniker frei ist. Falls Sie zu bestimmten Zeiten nicht erreichbar sind, teilen Sie uns das bitte mit.\n\nFreundliche Grüsse\n{{ agent }}\n",
        ),
        "en": (
            "We will call you back",
            "Hello{% if name %} {{ name }}{% endif %}\n\nWe will call you back {% if callback_number %}on {{ callback_number }} {% endif %}as soon as an engineer is free. If there are times when you cannot be reached, please let us know.\n\nKind regards\n{{ agent }}\n",
        ),
        "fr": (
            "Nous vous rappelons",
            "Bonjour{% if name %} {{ name }}{% endif %}\n\nNous vous rappellerons {% if callback_number %}au {{ callback_number }} {% endif %}dès qu’un technicien sera disponible. Si vous n’êtes pas joignable à certaines heures, merci de nous l’indiquer.\n\nMeilleures salutations\n{{ agent }}\n",
        ),
        "it": (
            "La richiamiamo",
            "Buongiorno{% if name %} {{ name }}{% endif %}\n\nLa richiameremo {% if callback_number %}al numero {{ callback_number }} {% endif %}non appena un tecnico sarà disponibile. Se in certi orari non è raggiungibile, ce lo faccia sapere.\n\nCordiali saluti\n{{ agent }}\n",
        ),
    },
    "solved": {
        "de": (
            "Gelöst: bitte bestätigen",
            "Grüezi{% if name %} {{ name }}{% endif %}\n\nWir haben das Problem behoben. Bitte prüfen Sie, ob nun wieder alles wie gewünscht funktioniert. Wenn wir nichts von Ihnen hören, schliessen wir die Anfrage in einigen Tagen ab.\n\nFreundliche Grüsse\n{{ agent }}\n",
        ),
        "en": (
            "Solved: please confirm",
            "Hello{% if name %} {{ name }}{% endif %}\n\nWe have fixed the problem. Please check that everything works as expected again. If we do not hear from you, we will close this request in a few days.\n\nKind regards\n{{ agent }}\n",
        ),
        "fr": (
            "Résolu : merci de confirmer",
            "Bonjour{% if name %} {{ name }}{% endif %}\n\nNous avons résolu le problème. Veuillez vérifier que tout fonctionne à nouveau comme prévu. Sans nouvelles de votre part, nous clôturerons la demande dans quelques jours.\n\nMeilleures salutations\n{{ agent }}\n",
        ),
        "it": (
            "Risolto: per favore confermi",
            "Buongiorno{% if name %} {{ name }}{% endif %}\n\nAbbiamo risolto il problema. La preghiamo di verificare che tutto funzioni di nuovo come previsto. Se non riceviamo sue notizie, chiuderemo la richiesta fra qualche giorno.\n\nCordiali saluti\n{{ agent }}\n",
        ),
    },
}
GRANTS = {
    "managers": ["add_cannedreply", "change_cannedreply", "delete_cannedreply", "view_cannedreply"],
    "agents": ["view_cannedreply"],
}


def seed(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    CannedReply = apps.get_model("helpdesk", "CannedReply")
    for key, languages in REPLIES.items():
        for language, (title, body) in languages.items():
            # An admin's own version (on a re-run after a rollback) is kept.
            CannedReply.objects.get_or_create(
                key=key, language=language, defaults={"title": title, "body": body}
            )


def _permissions(apps: Apps, codenames: list[str]) -> list[object]:
    Permission = apps.get_model("auth", "Permission")
    return list(Permission.objects.filter(content_type__app_label="helpdesk", codename__in=codenames))


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations ran; create them now so groups can get them.
    app_config = apps.get_app_config("helpdesk")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, codenames))


def revoke(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*_permissions(apps, codenames))


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0006_search_trigram_indexes")]

    operations = [
        migrations.CreateModel(
            name="CannedReply",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "key",
                    models.SlugField(help_text="The same key joins a reply's languages.", verbose_name="key"),
                ),
                (
                    "language",
                    models.CharField(
                        choices=[("de", "German"), ("en", "English"), ("fr", "French"), ("it", "Italian")],
                        max_length=2,
                        verbose_name="language",
                    ),
                ),
                (
                    "title",
                    models.CharField(
                        help_text="Shown in the ticket's reply form.", max_length=200, verbose_name="title"
                    ),
                ),
                (
                    "body",
                    models.TextField(
                        help_text="Django template syntax. Placeholders: {{ name }} (the customer), {{ reference }}, {{ subject }}, {{ callback_number }}, {{ agent }} (who replies).",
                        verbose_name="text",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
            ],
            options={
                "verbose_name": "reply template",
                "verbose_name_plural": "reply templates",
                "ordering": ["key", "language"],
                "constraints": [
                    models.UniqueConstraint(fields=("key", "language"), name="cannedreply_key_language")
                ],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(grant, revoke),
    ]
