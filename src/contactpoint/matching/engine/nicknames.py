"""Forename variants: nicknames, short forms and spellings of the same given name.

This is data, not logic. Each entry is ``(canonical, sex, variants)``: ``canonical`` is the name that
the variants stand for, ``sex`` is the sex the canonical name is normally given to (``"M"``, ``"F"`` or
``"U"`` when either) and is used only to choose between canonicals when a variant is shared (``ALEX`` is
``ALEXANDER`` for a boy and ``ALEXANDRA`` for a girl).

The table is deliberately conservative: a variant that has become a common given name in its own right
(``JACK``, ``LIAM``, ``ELSIE``, ``MOLLY``, ``MIA``, ``AMY``) is left out, because mapping it would make two different
children (twins named William and Liam, say) look like the same name. A wrong entry here costs
precision; a missing one only costs some recall, and the Jaro-Winkler and phonetic levels still catch
most spellings. All names are upper-case ASCII, as produced by :mod:`.features`.
"""

from __future__ import annotations

NICKNAME_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # --- boys ---
    ("WILLIAM", "M", ("BILL", "BILLY", "WILL", "WILLIE", "WILLY", "WILLS")),
    ("ALFRED", "M", ("ALF", "ALFIE", "ALFY", "FRED", "FREDDIE", "FREDDY")),
    ("FREDERICK", "M", ("FRED", "FREDDIE", "FREDDY", "FREDRICK", "FREDERIC")),
    ("THOMAS", "M", ("TOM", "TOMMY", "TOMMIE", "TOMAS")),
    ("JAMES", "M", ("JIM", "JIMMY", "JIMMIE", "JAMIE")),
    ("JOHN", "M", ("JOHNNY", "JOHNNIE", "JON")),
    ("JONATHAN", "M", ("JON", "JONNY", "JONNIE", "JONATHON")),
    ("ROBERT", "M", ("ROB", "ROBBIE", "ROBBY", "BOB", "BOBBY", "BERT")),
    ("RICHARD", "M", ("RICH", "RICHIE", "RICK", "RICKY", "DICK")),
    ("EDWARD", "M", ("ED", "EDDIE", "EDDY", "TED", "TEDDY", "NED")),
    ("THEODORE", "M", ("THEO", "TEDDY")),
    ("MICHAEL", "M", ("MIKE", "MIKEY", "MICK", "MICKEY", "MICKY")),
    ("DANIEL", "M", ("DAN", "DANNY")),
    ("SAMUEL", "M", ("SAM", "SAMMY", "SAMMIE")),
    ("ALEXANDER", "M", ("ALEX", "ALEC", "ALEK", "XANDER", "SANDY", "ALEKSANDER", "ALEXANDRE")),
    ("CHRISTOPHER", "M", ("CHRIS", "KRISTOPHER")),
    ("NICHOLAS", "M", ("NICK", "NICKY", "NIKOLAS", "NICOLAS")),
    ("MATTHEW", "M", ("MATT", "MATTY", "MATHEW")),
    ("ANDREW", "M", ("ANDY", "DREW")),
    ("ANTHONY", "M", ("TONY", "ANT", "ANTONY")),
    ("BENJAMIN", "M", ("BEN", "BENNY", "BENJI", "BENJY")),
    ("JOSEPH", "M", ("JOE", "JOEY")),
    ("JOSHUA", "M", ("JOSH",)),
    ("DAVID", "M", ("DAVE", "DAVY", "DAVIE", "DAVEY")),
    ("STEPHEN", "M", ("STEVE", "STEVIE", "STEVEN")),
    ("PETER", "M", ("PETE",)),
    ("PATRICK", "M", ("PAT", "PADDY")),
    ("HENRY", "M", ("HARRY", "HAL", "HANK")),
    ("HARRISON", "M", ("HARRY",)),
    ("HAROLD", "M", ("HARRY", "HAL")),
    ("ARCHIBALD", "M", ("ARCHIE", "ARCHY")),
    ("OLIVER", "M", ("OLLIE", "OLLY")),
    ("SEBASTIAN", "M", ("SEB", "SEBBY", "SEBASTIEN")),
    ("MAXIMILIAN", "M", ("MAX", "MAXIMILLIAN")),
    ("MAXWELL", "M", ("MAX",)),
    ("ZACHARY", "M", ("ZACH", "ZACK", "ZAK", "ZAC", "ZACHARIAH")),
    ("NATHANIEL", "M", ("NATE", "NAT", "NATHANAEL")),
    ("NATHAN", "M", ("NATE", "NAT")),
    ("ARTHUR", "M", ("ART", "ARTIE", "ARTY")),
    ("GEORGE", "M", ("GEORGIE",)),
    ("IBRAHIM", "M", ("IBBY", "IBBI")),
    ("ISMAIL", "M", ("IZZY",)),
    ("ZAKARIYA", "M", ("ZAKARIYYA", "ZAKARIA", "ZAKI", "ZAK", "ZACK")),
    # West African names are often shortened to their second element.
    ("OLUWASEUN", "U", ("SEUN",)),
    ("OLUWATOBI", "U", ("TOBI",)),
    ("OLUWAFEMI", "M", ("FEMI",)),
    ("IFEOLUWA", "U", ("IFE",)),
    ("CHUKWUEMEKA", "M", ("EMEKA",)),
    ("GABRIEL", "M", ("GABE",)),
    ("CHARLES", "M", ("CHARLIE", "CHAS", "CHUCK")),
    ("DOMINIC", "M", ("DOM", "DOMINICK")),
    ("TIMOTHY", "M", ("TIM", "TIMMY")),
    ("JACOB", "M", ("JAKE", "JAKEY", "JAKOB")),
    ("JAKUB", "M", ("KUBA",)),
    ("GEOFFREY", "M", ("GEOFF", "JEFFREY", "JEFF")),
    ("KENNETH", "M", ("KEN", "KENNY")),
    ("RONALD", "M", ("RON", "RONNIE")),
    ("DONALD", "M", ("DON", "DONNIE")),
    ("GERALD", "M", ("GERRY", "JERRY")),
    ("LAWRENCE", "M", ("LARRY", "LAURENCE")),
    ("RAYMOND", "M", ("RAY",)),
    ("ALBERT", "M", ("BERT", "BERTIE")),
    ("ALISTAIR", "M", ("ALASTAIR", "ALISTER", "ALLISTER")),
    ("CALLUM", "M", ("CALUM", "CAL")),
    ("CAMERON", "M", ("CAM",)),
    ("FINLEY", "M", ("FINLAY", "FINNLEY")),
    ("TOBIAS", "M", ("TOBY", "TOBI")),
    ("REGINALD", "M", ("REG", "REGGIE")),
    ("TERENCE", "M", ("TERRY", "TERRENCE")),
    ("PHILIP", "M", ("PHIL", "PHILLIP", "PIP")),
    ("FRANCIS", "M", ("FRANK", "FRANKIE")),
    ("MUHAMMAD", "M", ("MO", "MOHAMMED", "MOHAMMAD", "MOHAMED", "MUHAMMED", "MOHAMAD", "MUHAMAD", "MOHAMMAED")),
    ("AUGUSTUS", "M", ("GUS",)),
    ("EUGENE", "M", ("GENE",)),
    ("LEONARD", "M", ("LEN", "LENNY", "LENNIE")),
    ("DOUGLAS", "M", ("DOUG", "DOUGIE")),
    ("GREGORY", "M", ("GREG",)),
    # --- girls ---
    ("CATHERINE", "F", (
        "KATE", "KATIE", "KATY", "CATHY", "CATH", "KATHY", "KAT", "KITTY",
        "KATHERINE", "KATHRYN", "CATHRYN", "KATHARINE", "CATHARINE",
    )),
    ("ELIZABETH", "F", ("LIZ", "LIZZIE", "LIZZY", "BETH", "BETTY", "BETSY", "ELIZA", "LIBBY", "ELISABETH")),
    ("SAMANTHA", "F", ("SAM", "SAMMY", "SAMMIE")),
    ("ALEXANDRA", "F", ("ALEX", "LEXI", "LEXIE", "ALEKSANDRA")),
    ("CHRISTINA", "F", ("CHRIS", "CHRISSY", "TINA", "KRISTINA")),
    ("CHRISTINE", "F", ("CHRIS", "CHRISSY", "TINA")),
    ("CHARLOTTE", "F", ("CHARLIE", "LOTTIE", "LOTTE")),
    ("MARGARET", "F", ("MAGGIE", "MEG", "PEGGY", "MARGE", "MADGE")),
    ("ABIGAIL", "F", ("ABBY", "ABBIE", "ABI", "ABBI", "ABIGAYLE")),
    ("REBECCA", "F", ("BECKY", "BECCA", "BEX", "REBEKAH")),
    ("JESSICA", "F", ("JESS", "JESSIE", "JESSY")),
    ("VICTORIA", "F", ("VICKY", "VICKIE", "TORI", "TORY")),
    ("ELEANOR", "F", ("NELL", "NELLIE", "ELLIE", "NORA", "NORAH", "ELINOR", "ELEANORE", "ELENOR")),
    ("ISABEL", "F", (
        "IZZY", "IZZIE", "ISSY", "ISSIE", "ISABELLE", "ISOBEL", "ISOBELLE", "ISABELL", "ISABELLA", "BELLA",
    )),
    ("OLIVIA", "F", ("LIV", "LIVVY", "LIVVIE", "OLLIE")),
    ("JENNIFER", "F", ("JEN", "JENNY", "JENNIE")),
    ("SUSAN", "F", ("SUE", "SUSIE", "SUZY", "SUZIE")),
    ("DEBORAH", "F", ("DEBBIE", "DEB", "DEBRA")),
    ("AMANDA", "F", ("MANDY",)),
    ("NATASHA", "F", ("TASH", "TASHA")),
    ("NATALIE", "F", ("NAT", "NATTY", "NATALEE")),
    ("GABRIELLE", "F", ("GABBY", "GABBIE", "GABI", "GABRIELLA")),
    ("FRANCESCA", "F", ("FRAN", "FRANKIE", "CHESKA")),
    ("FRANCES", "F", ("FRAN", "FRANNIE", "FRANKIE")),
    ("PATRICIA", "F", ("PAT", "TRISH", "TRICIA", "PATSY")),
    ("JOSEPHINE", "F", ("JOSIE", "JOSEY")),
    ("THERESA", "F", ("TESS", "TESSA", "TERRI", "TERESA", "TERRY")),
    ("FLORENCE", "F", ("FLO", "FLOSSIE", "FLORRIE")),
    ("MATILDA", "F", ("TILLY", "TILLIE", "MATHILDA")),
    ("DOROTHY", "F", ("DOT", "DOTTIE", "DOLLY")),
    ("PENELOPE", "F", ("PENNY",)),
    ("HARRIET", "F", ("HATTIE",)),
    ("VERONICA", "F", ("RONNIE", "NICA")),
    ("NICOLA", "F", ("NIKKI", "NICKI", "NICKY", "NICOLE")),
    ("PHILIPPA", "F", ("PIPPA", "PIP", "PHILLIPA")),
    ("SARAH", "F", ("SARA", "SALLY")),
    ("ANGELA", "F", ("ANGIE",)),
    ("CONSTANCE", "F", ("CONNIE",)),
    ("TABITHA", "F", ("TABBY",)),
    ("KIMBERLEY", "F", ("KIM", "KIMBERLY")),
    ("ANNE", "F", ("ANNIE", "ANN", "ANNA")),
    ("HANNAH", "F", ("HANNA",)),
    ("SOPHIA", "F", ("SOPHIE", "SOFIA", "SOFIE")),
    ("ZOE", "F", ("ZOEY", "ZOEE")),
    ("AMELIA", "F", ("MILLIE", "MILLY", "MEL")),
    ("EMILY", "F", ("EM", "EMMY", "EMMIE", "MILLIE", "MILLY")),
    ("EMMA", "F", ("EM", "EMMY", "EMMIE")),
    ("ALICE", "F", ("ALLY", "ALLIE")),
    ("EVELYN", "F", ("EVIE", "EVE")),
    ("MADISON", "F", ("MADDY", "MADDIE")),
    ("MADELEINE", "F", ("MADDY", "MADDIE", "MADELINE", "MADELYN")),
    ("IMOGEN", "F", ("IMMY", "IMMIE", "IMI")),
    ("GEORGIA", "F", ("GEORGIE", "GEORGINA")),
    ("MELISSA", "F", ("MEL", "MELLIE")),
    ("NIAMH", "F", ("NEVE", "NEAVE")),
)


def build_variant_index() -> dict[str, tuple[tuple[str, str], ...]]:
    """Map every name in the table (canonical or variant) to its ``(canonical, sex)`` readings.

    A canonical name maps to itself. A variant shared by several groups (``SAM``) maps to all of them,
    in table order, so callers can pick by sex.
    """
    index: dict[str, list[tuple[str, str]]] = {}
    for canonical, sex, variants in NICKNAME_GROUPS:
        for name in (canonical, *variants):
            readings = index.setdefault(name, [])
            if (canonical, sex) not in readings:
                readings.append((canonical, sex))
    return {name: tuple(readings) for name, readings in index.items()}
