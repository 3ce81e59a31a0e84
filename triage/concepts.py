"""A small multilingual domain lexicon: words in de/en/fr/it mapped to concepts ('billing', 'ftp').

The classifier sees these concepts next to word and character n-grams. With a few hundred mails
per language, 'Rechnung', 'invoice', 'facture' and 'fattura' would otherwise be four unrelated
features; as one concept, what is learnt in one language carries over to the others. Lookups are
by word prefix ('rechnung*' also matches 'Rechnungsadresse'), which is fast and needs no lemmatizer.
"""

from __future__ import annotations

import re

# term* is a prefix, a term with spaces is a phrase of whole words (its last word may end in *).
LEXICON: dict[str, str] = {
    "billing": """rechnung* mahnung* mahngebühr* zahlungserinnerung* zahlung* bezahl* gutschrift*
        rückerstatt* preis* kosten kostet offerte* vertrag* kündig* abo abonnement* tarif* betrag* chf franken
        kreditkarte* twint e-banking ebanking mwst buchhaltung* invoice* payment* paid pay refund* price*
        pricing cost costs charge* billing billed contract* cancel* subscription* quote discount* facture*
        factur* paiement* payé* rembours* prix coût* contrat* résili* frais montant* comptab* fattur*
        pagament* pagat* pagare rimbors* prezz* costo costi contratt* disdett* abbonament* sollecit* importo
        addebit* débit* sconto rabatt* jahresrechnung*""",
    "package": "paket* package* plan upgrade* angebot* offer offre* offert* pacchett* formule speicherplatz*",
    "email": """e-mail* email* mail mails mailadresse* mailkonto* postfach* postfäch* posteingang*
        postausgang* mailbox* inbox outbox webmail* outlook* thunderbird* imap pop pop3 smtp spam*
        weiterleitung* forward* autorespond* abwesenheit* out-of-office boîte* messagerie* courriel*
        casella* caselle posta bounce* unzustell* newsletter* adresse* address* indirizz* apple mail
        gmail*""",
    "mailauth": "mx spf dkim dmarc greylist* blacklist* blocklist* spamhaus",
    "website": """website* webseite* homepage* seite seiten site sites sito siti onlineshop* webshop* shop
        shops negozio wordpress* joomla* typo3 woocommerce* prestashop* drupal* wp cms plugin* theme*
        kontaktformular* formulaire* formular* modulo galerie* gallery* galleria blog* landingpage*""",
    "php": "php* htaccess cron* cronjob*",
    "cert": "ssl zertifikat* certificat* certificate* certificato* https letsencrypt tls",
    "browser": "browser* chrome firefox safari edge navigat*",
    "ftp": "ftp ftps sftp filezilla winscp cyberduck ftp-* ftp-zugang*",
    "upload": """hochlad* hochgelad* upload* téléverser téléchar* caricar* caricat* übertrag* transfert*
        dateien""",
    "database": """datenbank* database* mysql* mariadb* phpmyadmin* sql* dump* db heidisql tabelle*
        base de données bases de données base mysql base dati bdd""",
    "domain": "domain* domaine* dominio* domini registrar* whois auth-code* authcode* transfercode* epp",
    "dns": """dns nameserver* serveurs de noms serveur de noms a-record cname txt eintrag* einträge*
        enregistrement* record* weiterleit* redirect* redirig* rediriger reindirizz* umleit* subdomain*
        sous-domaine* sottodominio*""",
    "renewal": """verlänger* renew* renouvel* rinnov* abgelaufen* expired expire* expir* scadut* scade*
        transfer* übertragen trasferi* zügeln""",
    "backup": """backup* sicherung* wiederherstell* zurückspiel* zurückhol* einspielen restore* restaur*
        sauvegarde* ripristin* rückspiel*""",
    "lost": """gelöscht* deleted delete* supprim* cancellat* verloren lost perdu* fehlen fehlt missing
        disparu*""",
    "panel": """control panel controlpanel kundencenter* kundenkonto* panel panneau* pannello kundenlogin
        compte client account client""",
    "login": """login* einlog* anmeld* passwort* password* mot de passe kennwort* zwei-faktor*
        authenticator* authentifi* zugang* accès accesso sperr* gesperrt locked bloccat* bloqué* benutzer*""",
    "thanks": "danke* merci thanks thank grazie ringrazi* remerci* bravo super",
    # 'Geht wieder, danke': a reply that closes a problem is no new problem report.
    "resolved": """geklappt erledigt solved résolu* risolt* funktioniert wieder geht wieder läuft wieder
        klappt jetzt works again works now that did it all good fonctionne à nouveau refonctionne
        tout est revenu tout fonctionne funziona di nuovo adesso funziona ora funziona tutto ok""",
    "broken": """kaputt* down offline störung* ausfall* broken stopped outage* panne hs inaccessible giù
        irraggiungibil* bloccat* fehler* error* erreur* errore* problem* problème* problema* geht nicht
        gaht nüm geht nöd funktioniert nicht klappt nicht not working doesn't work does not work can't
        cannot unable no longer marche pas fonctionne plus plus rien n'arrive non funziona non va
        non riesco non arriva nicht mehr nicht erreichbar not reachable""",
    "howto": """wie kann wie mache wie richte wie stelle wo finde wo kann kann ich können wir how do how can
        where do where can can i is it possible möglich comment faire comment puis est-ce possible puis-je
        où trouver come faccio come posso come si dove trovo è possibile anleitung* tutorial guide""",
    "request": """bitte möchte* würde gerne hätte gerne please would like i'd like we'd like could you
        can you merci de je voudrais nous voudrions pourriez pouvez-vous vorrei vorremmo potete potreste
        per favore""",
    "urgent": """dringend* sofort notfall* urgent* asap immediately emergency urgence tout de suite subito
        immediatamente""",
}
_WORDS = re.compile(r"[^\W\d_]+(?:[-'’.][^\W\d_]+)*|\d+", re.UNICODE)
MAX_PHRASE = 4
MAX_COUNT = 3


def _index() -> tuple[dict[str, list[str]], dict[str, list[str]], dict[tuple[str, ...], list[str]], int]:
    exact: dict[str, list[str]] = {}
    prefixes: dict[str, list[str]] = {}
    phrases: dict[tuple[str, ...], list[str]] = {}
    for concept, terms in LEXICON.items():
        for line in terms.split("\n"):
            for term in _terms(line):
                words = tuple(term.split())
                if len(words) > 1:
                    phrases.setdefault(words, []).append(concept)
                elif term.endswith("*"):
                    prefixes.setdefault(term[:-1], []).append(concept)
                else:
                    exact.setdefault(term, []).append(concept)
    return exact, prefixes, phrases, max(len(p) for p in prefixes)


def _terms(line: str) -> list[str]:
    """Split a lexicon line into terms, keeping the known phrases below together."""
    tokens = line.split()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in range(MAX_PHRASE, 1, -1):
            candidate = " ".join(tokens[i : i + size])
            if candidate in _PHRASES:
                out.append(candidate)
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


_PHRASES = {
    "base de données",
    "bases de données",
    "base mysql",
    "base dati",
    "serveurs de noms",
    "apple mail",
    "serveur de noms",
    "control panel",
    "compte client",
    "account client",
    "mot de passe",
    "geht nicht",
    "gaht nüm",
    "geht nöd",
    "funktioniert nicht",
    "klappt nicht",
    "not working",
    "doesn't work",
    "does not work",
    "no longer",
    "marche pas",
    "fonctionne plus",
    "plus rien",
    "non funziona",
    "non va",
    "non riesco",
    "non arriva",
    "nicht mehr",
    "nicht erreichbar",
    "not reachable",
    "funktioniert wieder",
    "works again",
    "geht wieder",
    "läuft wieder",
    "klappt jetzt",
    "works now",
    "that did it",
    "all good",
    "fonctionne à nouveau",
    "tout est revenu",
    "tout fonctionne",
    "funziona di nuovo",
    "adesso funziona",
    "ora funziona",
    "tutto ok",
    "wie kann",
    "wie mache",
    "wie richte",
    "wie stelle",
    "wo finde",
    "wo kann",
    "kann ich",
    "können wir",
    "how do",
    "how can",
    "where do",
    "where can",
    "can i",
    "is it possible",
    "comment faire",
    "comment puis",
    "est-ce possible",
    "où trouver",
    "come faccio",
    "come posso",
    "come si",
    "dove trovo",
    "è possibile",
    "würde gerne",
    "hätte gerne",
    "would like",
    "i'd like",
    "we'd like",
    "could you",
    "can you",
    "merci de",
    "je voudrais",
    "nous voudrions",
    "per favore",
    "tout de suite",
}
_EXACT, _PREFIXES, _PHRASE_INDEX, _LONGEST = _index()


def concepts(text: str) -> list[str]:
    """Return the concepts a text mentions, each at most MAX_COUNT times (a scikit-learn analyzer)."""
    words = [w.lower() for w in _WORDS.findall(text)]
    counts: dict[str, int] = {}
    for i, word in enumerate(words):
        for concept in _word_concepts(word):
            counts[concept] = counts.get(concept, 0) + 1
        for size in range(2, MAX_PHRASE + 1):
            for concept in _PHRASE_INDEX.get(tuple(words[i : i + size]), ()):
                counts[concept] = counts.get(concept, 0) + 1
    return [concept for concept, n in counts.items() for _ in range(min(n, MAX_COUNT))]


def _word_concepts(word: str) -> list[str]:
    found = list(_EXACT.get(word, ()))
    for size in range(min(len(word), _LONGEST), 1, -1):
        found.extend(_PREFIXES.get(word[:size], ()))
    return found
