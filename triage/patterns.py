"""Rule data for the signals: system error texts, display cues and callback phrases in de/en/fr/it.

Kept apart from the matching code so that adding a phrase never touches logic. Token patterns use
spaCy's Matcher syntax on lower-cased tokens; phrases go to a PhraseMatcher; codes are regular
expressions on the raw text because the tokenizer splits them unpredictably ('SQLSTATE[HY000]').
"""

from __future__ import annotations

import re
from typing import Any

TokenPattern = list[dict[str, Any]]


def words(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of a vocabulary written as running text."""
    return frozenset(text.split())


# Codes and log shapes that only a system writes. Each is enough on its own.
ERROR_CODES = re.compile(
    r"""
      \b[245]\d\d[\s-]+\#?[245]\.\d{1,3}\.\d{1,3}\b                     # SMTP 550 5.1.1 / 550-5.7.26
    | \b(?:error|fehler|erreur|errore|code|codice)\s*(?:\(\s*)?\#?\d{2,5}\s*\)?\s*[-–:]\s*\w
                                                                         # Error 9999 - ...
    | \b0x[0-9a-f]{8}\b                                                  # Outlook 0x800CCC0E
    | \b(?:net::)?err_[a-z_]{4,}\b                                       # Chrome NET::ERR_CERT_...
    | \b(?:ssl_error|sec_error|mozilla_pkix_error|dns_probe)_[a-z_]+\b  # Firefox / DNS probe codes
    | \bpr_[a-z_]+_error\b
    | \bsqlstate\s*\[\w+\]
    | \berror\s+\d{4}\s*\(\w{5}\)                                        # MySQL ERROR 1045 (28000)
    | (?:^|\s)\#\d{4}\s*-\s*\w                                           # phpMyAdmin #1045 - ...
    | \bsql\s+error\s*\(\d+\)
    | \(hy000/\d+\)
    | \b(?:php\s+)?(?:fatal|parse|catchable\s+fatal)\s+error\s*:
    | \b(?:warning|notice|deprecated)\s*:.{3,200}?\bon\s+line\s+\d+
    | \buncaught\s+\w*(?:error|exception)\b
    | \ballowed\s+memory\s+size\s+of\s+\d+\s+bytes\s+exhausted
    | \bmaximum\s+execution\s+time\s+of\s+\d+
    | \b(?:client|server)transferprohibited\b
    | \bepp\s+\d{4}\b
    | \bnxdomain\b | \bservfail\b
    | ^\s*(?:antwort|response|réponse|risposta|fehler|error|erreur|errore|status|befehl|command)\s*:\s*
        (?:\d{3}\b|[^\n]{0,40}(?:fehler|error|erreur|errore|failed|fehlgeschlagen|refused|timed|timeout|
           zeitüberschreitung|geschlossen|closed|scaduta|non\s+riuscit|impossible|impossibile))
    | \bcommand\s+not\s+found\b
    | \bcall\s+to\s+undefined\s+(?:function|method)\b
    | \be(?:connrefused|connreset|timedout|hostunreach|notfound|acces)\b
    | \b[45]\d\d\s+/\S+:\s*[a-z]                                      # FTP 550 /path: Permission denied
    """,
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)

# A 4xx/5xx reply code followed by the server's words ('421 Too many connections').
STATUS_LINE = re.compile(r"\b[45]\d\d[ -]+([A-Za-z][A-Za-z'’]*)(?:[ ,:;.-]+[A-Za-z'’]+)+", re.MULTILINE)
STATUS_WORDS = words(
    """not too service internal bad gateway forbidden unauthorized login can't cannot could requested
    mailbox user recipient relay relaying access authentication temporary connection message resource
    permission syntax invalid sender domain host transaction insufficient exceeded storage file no unable
    failed timeout unavailable request method payload precondition conflict gone locked loop network
    bandwidth error denied rejected blocked quota over disk data local server site page permanent policy
    spam sorry mail account action the your this sender's recipient's requested tls starttls must
    bandwidth restricted suspended limit"""
)

# Texts that systems show, matched case-insensitively on tokens (a PhraseMatcher on LOWER).
ERROR_PHRASES = [
    # mail servers and bounces
    "recipient address rejected",
    "sender address rejected",
    "client host rejected",
    "user unknown",
    "mailbox full",
    "mailbox unavailable",
    "quota exceeded",
    "relay access denied",
    "relaying denied",
    "delivery has failed",
    "remote server returned",
    "address not found",
    "message wasn't delivered",
    "message was not delivered",
    "undelivered mail returned to sender",
    "mail delivery failed",
    "delivery status notification",
    "could not be delivered",
    "couldn't be delivered",
    "permanent fatal errors",
    "smtp error",
    "authentication failed",
    "could not authenticate",
    "login incorrect",
    "temporary lookup failure",
    "blocked using",
    "message rejected",
    "spam score",
    "name service error",
    "host or domain name not found",
    "connection dropped",
    "cannot get mail",
    "sending of the message failed",
    "an error occurred while sending mail",
    "the mail server responded",
    "is incorrect",
    "server unexpectedly closed connection",
    # websites and databases
    "error establishing a database connection",
    "there has been a critical error",
    "internal server error",
    "service unavailable",
    "bad gateway",
    "gateway timeout",
    "gateway time-out",
    "too many connections",
    "too many redirects",
    "redirected you too many times",
    "this page isn't working",
    "this site can't be reached",
    "this site can’t be reached",
    "took too long to respond",
    "server ip address could not be found",
    "your connection is not private",
    "potential security risk",
    "this account has been suspended",
    "account has been suspended",
    "briefly unavailable for scheduled maintenance",
    "mysql server has gone away",
    "you have an error in your sql syntax",
    "access denied for user",
    "is marked as crashed",
    "you don't have permission to access",
    "was not found on this server",
    "the server encountered an internal error",
    "resource limit is reached",
    "doesn't exist",
    "ssl certificate problem",
    "sent an invalid response",
    "host key does not match",
    "connection refused",
    "connection timed out",
    "network error",
    # German, French and Italian interface texts
    "dies ist keine sichere verbindung",
    "diese verbindung ist nicht sicher",
    "diese website ist nicht erreichbar",
    "mögliches sicherheitsrisiko erkannt",
    "fehler beim aufbau einer datenbankverbindung",
    "es gab einen kritischen fehler",
    "die verbindung zum server ist fehlgeschlagen",
    "die verbindung mit dem server konnte nicht hergestellt werden",
    "socket-fehler",
    "fehlernummer",
    "zeitüberschreitung",
    "kritischer fehler",
    "votre connexion n'est pas privée",
    "ce site est inaccessible",
    "risque probable de sécurité",
    "erreur lors de la connexion à la base de données",
    "il y a eu une erreur critique",
    "la connessione non è privata",
    "impossibile raggiungere il sito",
    "errore nello stabilire una connessione al database",
    "c'è stato un errore critico",
    "non è possibile raggiungere il sito",
    "richiesta scaduta",
]

# Words before a colon or a quote that announce the system's own words ('Outlook meldet:').
DISPLAY_CUES = words(
    """kommt kam kommen erscheint erschien erscheinen steht stand stehen zeigt zeigte zeigen meldet meldete
    melden sagt sagte bringt wirft warf gibt lautet lauten schreibt antwortet bekomme bekommen erhalte
    erhalten kriege kriegen meldung fehlermeldung fehlermeldungen rückmeldung fehler text hinweis warnung
    nachricht zurück mit folgendes folgende folgender
    says said say shows showed show displays displayed display reads read appears appeared get got getting
    receive received returns returned returning throws threw error message bounce reports reported tells
    with following this pops popped comes came responds responded
    affiche affichait affichent indique dit obtiens obtient obtenons reçois reçoit recevons apparaît
    erreur renvoie répond message suivant suivante avec
    dice diceva mostra compare appare esce scrive ricevo riceviamo ottengo risponde segnala messaggio
    errore seguente questo con dà scritto scritta"""
) | {
    "showing",
    "saying",
    "displaying",
    "returning",
    "throwing",
    "telling",
    "gives",
    "give",
    "gave",
    "giving",
    # German separable and perfect forms ('die Meldung, die Outlook anzeigt:', 'es wurde gemeldet:')
    "anzeigt",
    "angezeigt",
    "anzeigen",
    "ausgibt",
    "ausgegeben",
    "gemeldet",
    "erschienen",
    "gekommen",
    "zurückgegeben",
    "popping",
    "coming",
    "getting",
    "receiving",
    "zeigen",
    "melden",
    "bringt",
    "spuckt",
    "liefert",
    "dice",
    "affichent",
    "marque",
    "écrit",
    "indica",
    "restituisce",
    "visualizza",
}
# Verbs that may end an intro line without a colon ('every page just shows').
DISPLAY_VERBS = words(
    """kommt kam erscheint steht zeigt meldet sagt bringt wirft gibt lautet says shows showed displays reads
    returns returned returning throws gives saying showing with mit avec con affiche indique dit obtiens
    dice dà mostra compare appare esce scrive"""
)
# Said of a screenshot or attachment instead of pasted text.
NOT_PASTED = re.compile(
    r"screenshot|bildschirm(?:foto|kopie)|anhang|angehängt|anbei|attach|capture\s+d'écran|pièce\s+jointe|"
    r"allegat|schermata|foto|siehe|see\s+below\s+image|image\s+ci-jointe",
    re.IGNORECASE,
)
# A quoted span: «...», „...“, “...”, "..." (straight quotes only with two or more words).
QUOTED = re.compile(
    r"«\s*([^»]{3,400}?)\s*»|„([^“”\"]{3,400}?)[“”\"]|“([^”]{3,400}?)”|\"([^\"\n]{3,400}?)\""
    # single quotes only where they cannot be apostrophes (not inside a word)
    r"|(?<![\w'’])['‘]([^'‘’\n]{3,300}?)['’](?![\w'’])"
)
CLICK_CUES = words(
    """klicke klicken klickt geklickt click clicked clicking clique cliqué cliquer clicco cliccato cliccare
    unter menü menu button knopf schaltfläche option paket package abonnement tarif punkt feld field
    champ campo pulsante bouton taste"""
)

# A gap inside one sentence; wide enough for a phone number ('mich unter 0041 31 964 27 18 an').
_GAP = {"IS_SPACE": False, "ORTH": {"NOT_IN": [".", "!", "?", ";"]}, "OP": "{0,9}"}
_SHORT_GAP = {"IS_SPACE": False, "ORTH": {"NOT_IN": [".", "!", "?", ";"]}, "OP": "{0,2}"}


def _in(*words: str) -> dict[str, Any]:
    return {"LOWER": {"IN": list(words)}}


_DE_INF = ("anrufen", "zurückrufen", "zurueckrufen", "anzurufen", "zurückzurufen", "anruft", "zurückruft")
_NUMBER = {"LIKE_NUM": True}

CALLBACK_PATTERNS: dict[str, list[TokenPattern]] = {
    "de": [
        # 'Rufen Sie mich an' but not 'Kunden rufen uns an': the plural form needs the polite 'Sie'.
        [_in("rufen"), _in("sie"), _SHORT_GAP, _in("mich", "uns"), _GAP, _in("an", "zurück", "zurueck")],
        [
            _in("ruft", "ruf", "rufe", "rufst"),
            _SHORT_GAP,
            _in("mich", "uns"),
            _GAP,
            _in("an", "zurück", "zurueck"),
        ],
        [_in("mich", "uns"), _GAP, _in(*_DE_INF)],
        [_in("bitte", "sofort", "dringend", "umgehend", "gleich"), _SHORT_GAP, _in(*_DE_INF)],
        [_in(*_DE_INF), _in("bitte", "!", "!!", "!!!", ":")],
        [_in("melden", "meldet", "melde"), _SHORT_GAP, _in("unter", "auf"), _NUMBER],
        # Swiss German: 'Chönd Sie mi aalüte?'
        [
            _in(
                "aalüte",
                "alüte",
                "aalüüte",
                "alüüte",
                "aarüefe",
                "arüefe",
                "zruggrüefe",
                "zrugglüte",
                "zruggalüte",
                "telefoniere",
                "aalütä",
                "alütä",
            )
        ],
        [
            _in("telefonisch", "telefonische", "telefonischen", "telefonisches"),
            _GAP,
            _in(
                "klären",
                "besprechen",
                "beraten",
                "beratung",
                "melden",
                "kontaktieren",
                "kontakt",
                "rücksprache",
                "auskunft",
                "erklären",
                "zu",
                "zur",
            ),
        ],
        [_in("telefonische", "telefonischen"), _in("beratung", "rücksprache", "kontaktaufnahme", "auskunft")],
        [_in("per", "am", "übers"), _in("telefon"), _GAP, _in("klären", "besprechen", "erklären")],
    ],
    "en": [
        [_in("call", "ring", "phone", "telephone"), _in("me")],
        [_in("please", "pls", "plz"), _in("call", "ring", "phone")],
        [_in("call", "ring"), _in("back")],
        [_in("call", "ring"), _in("on", "at"), _NUMBER],
        [_in("call", "ring"), _NUMBER],
        [_in("give"), _in("me", "us"), _in("a"), _in("call", "ring", "bell", "buzz")],
        [
            _in("appreciate", "like", "prefer", "want", "need", "request", "grateful", "welcome"),
            _GAP,
            _in("call", "ring"),
        ],
        [_in("someone", "somebody", "anyone", "anybody"), _SHORT_GAP, _in("call", "ring", "phone")],
        [_in("by", "over", "via"), {"LOWER": "the", "OP": "?"}, _in("phone", "telephone")],
    ],
    "fr": [
        [
            _in("me", "m'", "nous", "m’"),
            _in(
                "rappeler",
                "appeler",
                "téléphoner",
                "rappelle",
                "appelle",
                "rappeliez",
                "appeliez",
                "recontacter",
            ),
        ],
        [
            _in("rappelez", "appelez", "téléphonez", "rappelez-moi", "appelez-moi"),
            _in("-moi", "moi", "-nous", "nous", "svp", "s'il", "au", "!", "."),
        ],
        [_in("rappelez-moi", "appelez-moi", "téléphonez-moi")],
        [
            _in("souhaite", "souhaiterais", "voudrais", "aimerais", "demande", "préfère", "préférerais"),
            _GAP,
            _in("appel"),
        ],
        [_in("appel", "entretien", "rappel"), _in("téléphonique")],
        [_in("par"), _in("téléphone")],
        [_in("de"), _in("vive"), _in("voix")],
    ],
    "it": [
        [
            _in(
                "richiamarmi",
                "richiamatemi",
                "richiamami",
                "richiamateci",
                "chiamatemi",
                "chiamami",
                "chiamarmi",
                "chiamateci",
                "telefonatemi",
                "telefonarmi",
                "ricontattarmi",
                "ricontattatemi",
                "richiamarci",
            )
        ],
        [
            _in("mi", "ci"),
            _SHORT_GAP,
            _in(
                "richiamate",
                "richiami",
                "chiamate",
                "chiami",
                "telefonate",
                "telefoni",
                "richiamerete",
                "chiamerete",
                "ricontattate",
            ),
        ],
        [
            _in("potete", "può", "puoi", "potreste", "potrebbe", "prego", "pregherei"),
            _SHORT_GAP,
            _in("richiamare", "chiamare", "telefonare", "richiamarmi", "chiamarmi", "telefonarmi"),
        ],
        [_in("a"), _in("voce")],
        [_in("per"), _in("telefono")],
        [_in("una"), _in("telefonata", "chiamata")],
    ],
}
# Nouns for a call: a request unless thanked for ('Danke für den Rückruf').
CALLBACK_NOUNS = words("rückruf rückrufs rueckruf rückrufbitte anruf callback call-back")
# The customer says where they can be reached: a request when a number stands in the same sentence.
REACH_WORDS = words(
    """erreichen erreichbar erreicht reach reachable reached joindre joignable atteindre raggiungere
    raggiungibile trovate"""
)
NEGATIONS = words("""nicht kein keine keinen nie don't dont n't not never no pas jamais non né""")
THANKS = words("danke dank merci thanks thank grazie ringrazio ringraziare remercie remercier")

# The provider's earlier message (quoted) offered a call or asked for a number.
CALLBACK_OFFER = re.compile(
    r"rufen\s+wir\s+sie|rückruf|telefonnummer|unter\s+welcher\s+nummer|call\s+you\s+back|callback|"
    r"phone\s+number|vous\s+rappeler|numéro\s+de\s+téléphone|richiamar|numero\s+di\s+telefono",
    re.IGNORECASE,
)
# Labels in front of a number.
MOBILE_WORDS = words("natel handy mobile mobil mobiltelefon portable cellulare cell mob m cellphone")
FAX = re.compile(r"\b(?:fax|telefax)\b[\s.:]*$", re.IGNORECASE)
NOT_A_PHONE = re.compile(
    r"(?:\b(?:nr|no|n°|num|ref)\b\.?|\b(?:rechnung|rechnungsnummer|invoice|facture|fattura|kunden(?:nummer)?|"
    r"kd|customer|client|iban|konto|account|order|bestellung|ordine|commande|ticket|uid|mwst|tva|iva))"
    r"[\s:#-]*$",
    re.IGNORECASE,
)
PREFERENCE = re.compile(
    r"\b(?:besser|lieber|am\s+besten|bevorzugt|vorzugsweise|plutôt|de\s+préférence|mieux|meglio|"
    r"preferibilmente|better|best|prefer|preferably|rather|first|zuerst|d'abord|prima)\b",
    re.IGNORECASE,
)

# Words that carry no description of a problem: greetings, politeness, callback and urgency words.
FILLER = words(
    """hallo grüezi grüessech gruezi hoi salü guten tag morgen abend gutentag sehr geehrte geehrter damen
    herren liebe lieber team support supportteam hello hi hey dear sir madam good afternoon evening morning
    bonjour bonsoir salut madame monsieur messieurs buongiorno buonasera ciao salve gentili signori egregi
    bitte danke merci vielmal please thanks thank grazie svp plaît favore prego
    rufen ruft anrufen zurückrufen rückruf anruf telefon telefonisch nummer natel handy mobile erreichbar
    erreichen call back ring phone number reach reachable callback rappeler rappelez appeler appelez
    téléphoner téléphone contacter numéro joindre richiamare richiamatemi chiamare chiamatemi chiamate
    telefono numero telefonare contattare
    dringend sofort wichtig notfall umgehend schnell urgent asap important emergency quickly immediately vite
    rapidement urgence urgente subito importante presto
    problem probleme fehler fehlermeldung meldung error erreur errore message messaggio hilfe help aide aiuto
    helfen frage fragen question questions domanda anliegen problème problema issue störung soon möglich
    possible possibile jemand someone somebody quelqu'un qualcuno heute today aujourd'hui oggi"""
)
