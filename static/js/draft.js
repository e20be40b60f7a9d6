// The live draft of the acta: a model fed by the session's events (applied once, in id order)
// and a view that lays its blocks out in the skeleton's zones, ordered by each block's
// `position` (its place in the acta) rather than by arrival: audio blocks get their position
// when their utterance is cut, so a transcription that finishes late still lands in order.
// An utterance being transcribed (`utterance.detected`) shows as a placeholder at its position
// until the block carrying its `utterance_id` arrives. Server data only ever reaches the page
// through textContent and attributes, never as HTML.

import { session } from "./storage.js";

/**
 * The zones of SKEL_STD_V1 in document order, with the headings the acta prints over them (the
 * skeleton's, in sentence case). The opening and the signatures have none in the acta: their
 * names here are the console's own (UNTITLED_ZONES).
 */
export const ZONES = [
  ["HEADER_ZONE", "Apertura"],
  ["ZONE_AGENDA", "Orden del día"],
  ["ZONE_ROLLCALL", "Llamado a lista y verificación del quórum"],
  ["ZONE_AGENDA_APPROVAL", "Aprobación del orden del día"],
  ["ZONE_PRIOR_ACTAS", "Aprobación de actas anteriores"],
  ["ZONE_DEBATE", "Desarrollo de la sesión"],
  ["ZONE_PROYECTOS", "Proyectos de acuerdo"],
  ["ZONE_PROPOSICIONES", "Proposiciones"],
  ["ZONE_COMUNICACIONES", "Comunicaciones"],
  ["ZONE_VARIOS", "Varios"],
  ["ZONE_CIERRE", "Cierre de la sesión"],
  ["SIGNATURE_BLOCK", "Firmas"],
];

/** Zones the skeleton prints no heading over: left empty, the acta shows nothing of them but an
 * empty paragraph carrying BUILDER's comment (a zone with a heading shows the bare heading). */
const UNTITLED_ZONES = new Set(["HEADER_ZONE"]);
/**
 * While blocks keep coming, who speaks in each is worked out again no sooner than this many times
 * as long as the last time took after it (DraftView.speakersChanged): at most a fifth of the
 * page's time.
 */
const SPEAKERS_SPACING = 4;
/** ms: the longest that wait, after a costly pass (a roll call renaming hundreds of blocks). */
const SPEAKERS_WAIT = 1000;
/** The items of blocks with a position: those an utterance's row follows (zoneOfPosition). */
const BLOCK_ITEM = "li.block[data-block-id][data-position]";

/** The zone BUILDER fills with the session's signatures when no block went to it (SIGNATURE_ZONE there). */
const SIGNATURE_ZONE = "SIGNATURE_BLOCK";

/**
 * Recognition confidence (`audio_metadata.asr_confidence`: exp of the mean avg_logprob of the
 * utterance's segments) under which an audio block nobody has edited is flagged "Baja confianza
 * — revisar con el audio". The same line as LOW_ASR_CONFIDENCE in server/services/docx_builder.py,
 * which puts a Word comment on the same blocks; measured there (bench/asr_confidence.py): every
 * transcript of the fixtures under 0.70, clean or degraded, had words wrong, none fully correct
 * scored under 0.77.
 */
export const LOW_ASR_CONFIDENCE = 0.7;

/** Whether a block's words came from speech recognized with low confidence and no one has edited it (low_confidence there). */
export function lowConfidence(block) {
  if (!block || block.type === "ERROR_PENDING_REVIEW" || block.human_edited === true) return false;
  const meta = block.audio_metadata;
  const confidence = meta && typeof meta === "object" ? meta.asr_confidence : null;
  return typeof confidence === "number" && Number.isFinite(confidence) && confidence < LOW_ASR_CONFIDENCE;
}

/** Whether a block was recognized from the recorded audio (not typed). */
function fromAudio(block) {
  const source = block && block.source;
  return Boolean(source && typeof source === "object" && source.kind === "audio");
}

// 2: utterances in transcription and block.updated are applied (a v1 snapshot skipped them).
// 3: utterances heard with no words are kept (a v2 snapshot dropped them).
const SNAPSHOT_VERSION = 3;

/** The utterance id an audio block carries (audio_metadata, or its source). */
export function utteranceOf(block) {
  const meta = block && block.audio_metadata;
  if (meta && typeof meta === "object" && typeof meta.utterance_id === "string") return meta.utterance_id;
  const source = block && block.source;
  if (source && typeof source === "object" && typeof source.utterance_id === "string") return source.utterance_id;
  return null;
}

/** What the draft keeps of an utterance event: where and when it was said. */
function utteranceRecord(id, data) {
  return {
    utterance_id: id,
    position: positionOf(data),
    time_start: typeof data.time_start === "number" ? data.time_start : null,
    time_end: typeof data.time_end === "number" ? data.time_end : null,
  };
}

/** A block's position as a number, or null when it has none. */
function positionOf(item) {
  const p = item && item.position;
  return typeof p === "number" && Number.isFinite(p) ? p : null;
}

// -- who speaks ----------------------------------------------------------------------------------

/** Sections where the chair gives the floor: SPEECH_TEMPLATES of server/services/docx_builder.py. */
const SPEECH_TEMPLATES = new Set([
  "TPL_DEBATE",
  "TPL_VARIOS",
  "TPL_PROYECTO_ACUERDO",
  "TPL_PROPOSICION",
  "TPL_APROBACION_ACTAS",
  "TPL_APROBACION_ORDEN_DIA",
]);
/** Sections of interventions alone, which take the words after a grant in any of SPEECH_TEMPLATES (INTERVENTION_TEMPLATES there). */
const INTERVENTION_TEMPLATES = new Set(["TPL_DEBATE", "TPL_VARIOS"]);
/** What a block says of its own that the carried speaker does not go over (OWN_FIELDS there). */
const OWN_FIELDS = ["orador", "anuncio", "votacion", "tramite", "autores", "titulo", "no_presente"];
/** What a grant of the floor says of the speaker (SPEAKER_FIELDS there). */
const SPEAKER_FIELDS = ["orador", "rol", "cargo", "partido", "ponente"];
const CARRIED = "orador_por_anuncio";
/** The section of a bill, whose heading names its ponentes (BILL_TEMPLATE there). */
const BILL_TEMPLATE = "TPL_PROYECTO_ACUERDO";
const OTHER_COUNCILLOR = { concejala: "concejal", concejal: "concejala" };
const ARTICLE_BEFORE_OFFICE = /(?:^|\s)(el|la|al|del)\s+(?:(?:señor|señora)\s+)?$/;

/** Python's truth of a field (the server's rule is written in Python): empty lists and objects are false. */
function truthy(value) {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === "object") return Object.keys(value).length > 0;
  return Boolean(value);
}

function dataOf(block) {
  const data = block && block.structured_data;
  return data && typeof data === "object" && !Array.isArray(data) ? data : {};
}

/** Whether a block counts for the grant of the floor: deleted blocks and images are passed over. */
function spoken(block) {
  return Boolean(block) && !block.deleted && block.type !== "IMAGE";
}

function isSpeech(block) {
  return block.type === "TEMPLATE" && SPEECH_TEMPLATES.has(block.template_id);
}

/** A person's name, given as a string or as {nombre} (_person_name there). */
function personName(value) {
  if (value && typeof value === "object") {
    for (const key of ["nombre", "name", "concejal"]) if (truthy(value[key])) return String(value[key]).trim();
    return "";
  }
  return value === null || value === undefined ? "" : String(value).trim();
}

/** The ponente a grant by part alone names ("la concejala ponente."): _ponente_named there. */
function ponenteNamed(grant, ponentes) {
  const other = OTHER_COUNCILLOR[typeof grant.rol === "string" ? grant.rol : ""];
  const names = ponentes
    .filter((p) => !(other && p && typeof p === "object" && p.rol === other))
    .map(personName)
    .filter(Boolean);
  return names.length === 1 ? names[0] : null;
}

/** An office named alone as the speaker line, with its article: _office_as_speaker there. */
function officeAsSpeaker(cargo, said) {
  const at = said.toLowerCase().indexOf(cargo.toLowerCase());
  const article = at >= 0 ? ARTICLE_BEFORE_OFFICE.exec(said.slice(0, at).toLowerCase()) : null;
  const first = cargo.split(/\s+/).filter(Boolean)[0] || "";
  const feminine = article ? article[1] === "la" : first.toLowerCase().endsWith("a");
  return (feminine ? "La " : "El ") + cargo;
}

/** Whether a block's audio goes on with the previous block's speech, cut at the maximum length: _continues_speech there. */
function continuesSpeech(block) {
  const meta = block && block.audio_metadata;
  return Boolean(meta && typeof meta === "object" && meta.continues_previous === true);
}

const ACCENTS = { á: "a", é: "e", í: "i", ó: "o", ú: "u", ü: "u", ñ: "n" };

/** A text's characters as code points (Python's str, which the builder's counts are in). */
function codePoints(text) {
  return Array.from(text);
}

/** Strings of up to this many characters (names, offices) have their folded forms kept. */
const MEMO_LENGTH = 200;
/** Forms kept per function, at most: all are forgotten at once past it. */
const MEMO_ENTRIES = 20_000;

/**
 * `compute` (a pure function of a string) with its results kept for short strings: who speaks
 * in each block is worked out again over every block shown (speakersOf), and it folds the same
 * few dozen names and offices thousands of times each (three quarters of its time in a
 * 5,000-block session before they were kept).
 */
function memoized(compute) {
  const known = new Map();
  return (text) => {
    if (!(text.length <= MEMO_LENGTH)) return compute(text);
    let result = known.get(text);
    if (result === undefined) {
      if (known.size >= MEMO_ENTRIES) known.clear();
      result = compute(text);
      known.set(text, result);
    }
    return result;
  };
}

/** Lower case without accents, one character for each: _fold_same_length there. */
const fold = memoized((text) => {
  let low = text.toLowerCase();
  if (low.length !== text.length) {
    low = codePoints(text)
      .map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c))
      .join("");
  }
  return low.replace(/[áéíóúüñ]/g, (c) => ACCENTS[c]);
});

/** The words of a name or an office, lower-case and without accents: _words there. Shared, so frozen. */
const nameWords = memoized((value) => Object.freeze(fold(value).split(/\s+/).filter(Boolean)));

/** Whether two names said are one person (the shorter's words all in the other's): _same_person there. */
function samePerson(name, other) {
  if (typeof name !== "string" || typeof other !== "string") return false;
  const [a, b] = [nameWords(name), nameWords(other)];
  const [shorter, longer] = a.length <= b.length ? [a, b] : [b, a];
  return shorter.length > 0 && shorter.every((w) => longer.includes(w));
}

/** A value as Python's str() writes it, "" for none: _as_text there. */
function asText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : String(value);
}

function isMapping(value) {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value);
}

// -- the session's names -------------------------------------------------------------------------
// Who a block names, as the rest of the session names them (a member by the whole name the roll
// calls list, an official by office as named before, the citante, the personero sworn in), and
// the chair addressed by name, who is not the speaker: _named_as_in_the_session in
// server/services/docx_builder.py, applied before the floor is given. Then each speaker spelled
// with the accents the session gave the name elsewhere (_as_spelled there).

/** The lists of a roll call (_ROLL_CALL_KEYS there). */
const ROLL_CALL_KEYS = ["presentes", "ausentes", "excusados", "tarde", "retirados"];
const COUNCILLORS = ["concejal", "concejala"];
/** A block holding a grant of the floor: the grant alone, or with the speaker's words after it (_GRANT_FIELDS there). */
const GRANT_FIELDS = ["anuncio", "anuncio_texto"];
/**
 * The offices one person holds, which the council elects: ONE_HOLDER_OFFICES, OFFICE_SCOPES and
 * OFFICE_GOES_ON of server/services/offices.py (tests/test_draft_parity.py holds them equal).
 */
export const OFFICES = {
  oneHolder: { personero: "personero", personera: "personero", contralor: "contralor", contralora: "contralor" },
  scopes: ["municipal", "distrital"],
  goesOn: ["de", "del", "para"],
};
const ONE_HOLDER_ROLES = [...new Set(Object.values(OFFICES.oneHolder))];
/** Words of a name that do not tell one person from another (_NAME_PARTICLES there). */
const NAME_PARTICLES = new Set(["de", "del", "la", "las", "los", "y", "e"]);
/** An oath declared is a sentence or two: who is sworn in is read in its first words (_OATH_CHARS_READ there). */
const OATH_CHARS_READ = 1000;
/** People named for one office: from two on, none of them is taken for it (_ENOUGH_TO_DOUBT there). */
const ENOUGH_TO_DOUBT = 2;
/**
 * The chair addressed at the start of words ("Gracias, señor presidente, …"), on folded text:
 * _CHAIR_ADDRESS_RE of server/services/docx_builder.py (anchored there by re.match).
 */
const CHAIR_ADDRESS_RE = /^[\s¡¿]*(?:(?:muchas\s+)?gracias\s*,?\s*)?(?:(?:senor|senora)\s+)?president[ea]\s*[,.:]?\s*/;
/** A word of letters alone, no digits (_LETTERS there: [^\W\d_]+). */
const LETTERS_RE = /[\p{L}\p{Nl}\p{No}]+/gu;

/** The office one person holds a grant names alone, no name said or known ("el señor personero"), as the speaker line: _one_holder_granted there. */
function oneHolderGranted(said, text) {
  const rol = typeof said.rol === "string" ? said.rol : "";
  if (!ONE_HOLDER_ROLES.includes(rol) || truthy(said.orador) || truthy(said.cargo)) return null;
  const offices = [...fold(text).matchAll(/\p{L}+/gu)].filter(
    (m) => Object.hasOwn(OFFICES.oneHolder, m[0]) && OFFICES.oneHolder[m[0]] === rol,
  );
  if (!offices.length) return null;
  const office = offices[offices.length - 1];
  const article = ARTICLE_BEFORE_OFFICE.exec(text.slice(0, office.index).toLowerCase());
  const feminine = article ? article[1] === "la" : office[0].endsWith("a");
  return (feminine ? "La " : "El ") + office[0];
}

/** The role of ONE_HOLDER_ROLES an office said as a whole is ("Personero Municipal de Palmira…"), else null: _one_holder_role there. */
function oneHolderRole(office) {
  const words = nameWords(office);
  const head = words.length && Object.hasOwn(OFFICES.oneHolder, words[0]) ? OFFICES.oneHolder[words[0]] : null;
  const rest = words.length > 1 && OFFICES.scopes.includes(words[1]) ? words.slice(2) : words.slice(1);
  return head && (!rest.length || OFFICES.goesOn.includes(rest[0])) ? head : null;
}

/** The people among names, each once by the longest name said, at most ENOUGH_TO_DOUBT: _distinct there. */
function distinct(names) {
  const people = [];
  for (const name of names) {
    const same = people.findIndex((known) => samePerson(name, known));
    if (same < 0) people.push(name);
    else if (nameWords(name).length > nameWords(people[same]).length) people[same] = name;
  }
  return people.slice(0, ENOUGH_TO_DOUBT);
}

/** Add names to those a key of `map` holds (distinct). */
function learn(map, key, names) {
  map.set(key, distinct([...(map.get(key) || []), ...names]));
}

/** Whether words said name the person: two of the name's own words at least: _named_in there. */
function namedIn(name, words) {
  const own = nameWords(name).filter((w) => !NAME_PARTICLES.has(w));
  return own.length >= 2 && own.filter((w) => words.has(w)).length >= 2;
}

/**
 * The members the session's roll calls list, to name one said by part of the name as listed:
 * _members_listed and _Listed.as_listed there.
 */
function membersListed(blocks) {
  const names = new Set();
  for (const block of blocks) {
    if (block.template_id !== "TPL_LLAMADO_LISTA" || block.deleted || !isMapping(block.structured_data)) continue;
    for (const key of ROLL_CALL_KEYS) {
      const members = block.structured_data[key];
      if (!Array.isArray(members)) continue;
      for (const member of members) {
        const name = personName(member);
        if (name) names.add(name);
      }
    }
  }
  return {
    /** The listed name of the only member it is part of; the name as said if none, "" if several. */
    asListed(name) {
      if (!name || names.has(name)) return name;
      const same = [...names].filter((member) => samePerson(name, member));
      return same.length === 1 ? same[0] : same.length ? "" : name;
    },
  };
}

/** Whether the block's speaker is who presides, named right after the chair is addressed: _chair_addressed there. */
function chairAddressed(data, text, presides) {
  const orador = asText(data.orador).trim();
  if (!orador || !presides || truthy(data.anuncio) || !samePerson(orador, presides)) return false;
  const low = fold(text);
  const address = CHAIR_ADDRESS_RE.exec(low);
  return address !== null && low.startsWith(nameWords(orador).join(" "), address[0].length);
}

/**
 * Who the session elects personero or comptroller, and once an oath is declared naming them,
 * the office, or "usted" said to the one elected last, the holder of that role: _learn_elected
 * there. `session.last` is the role of the last election declared ("" for another office).
 */
function learnElected(data, session) {
  const election = data.eleccion;
  if (isMapping(election)) {
    const name = asText(election.elegido).trim();
    const role = oneHolderRole(asText(election.cargo));
    if (name) session.last = role || "";
    if (name && role) learn(session.elected, role, [name]);
  }
  if (!session.elected.size || !truthy(data.posesion)) return;
  const said = fold(codePoints(asText(data.posesion)).slice(0, OATH_CHARS_READ).join(""));
  const oath = new Set(said.match(LETTERS_RE) || []);
  for (const [role, names] of [...session.elected]) {
    const addressed = oath.has("usted") && session.last === role;
    const office = [...oath].some((w) => Object.hasOwn(OFFICES.oneHolder, w) && OFFICES.oneHolder[w] === role);
    if (addressed || office || names.some((name) => namedIn(name, oath))) {
      learn(session.holders, role, names);
      session.elected.delete(role);
    }
  }
}

/** `data` with its speaker named as the session names them, or `data` itself: _speaker_named there. */
function speakerNamed(data, session) {
  const orador = asText(data.orador).trim();
  const rol = asText(data.rol);
  if (orador) {
    // a councillor's, or a name of two words said with no role: a citizen is not a member
    if (COUNCILLORS.includes(rol) || (!rol && nameWords(orador).length >= 2)) {
      const listed = session.members.asListed(orador);
      if (nameWords(listed).length > nameWords(orador).length) return { ...data, orador: listed };
    }
    return data;
  }
  if (!GRANT_FIELDS.some((key) => truthy(data[key]))) return data;
  let names;
  if (data.citante === true) {
    const other = OTHER_COUNCILLOR[rol];
    names = distinct([...session.citantes].filter(([said]) => said !== other).flatMap(([, named]) => named));
  } else if (truthy(data.cargo)) {
    names = session.holders.get(nameWords(asText(data.cargo)).join(" ")) || [];
  } else if (ONE_HOLDER_ROLES.includes(rol)) {
    names = session.holders.get(rol) || [];
  } else {
    return data;
  }
  return names.length === 1 ? { ...data, orador: names[0] } : data;
}

/** Who a block names with an office (its speaker's, its guests') or as citante: _learn_holders there. */
function learnHolders(data, session) {
  const said = [[data.orador, data.cargo]];
  if (Array.isArray(data.invitados)) said.push(...data.invitados.filter(isMapping).map((g) => [g.nombre, g.cargo]));
  for (const [name, office] of said) {
    if (typeof name !== "string" || !name.trim() || typeof office !== "string" || !office.trim()) continue;
    learn(session.holders, nameWords(office).join(" "), [name.trim()]);
    const role = oneHolderRole(office); // a guest "personero distrital": the personero
    if (role) learn(session.holders, role, [name.trim()]);
  }
  const rol = asText(data.rol);
  const orador = typeof data.orador === "string" ? data.orador.trim() : "";
  if (ONE_HOLDER_ROLES.includes(rol) && !truthy(data.cargo) && orador) learn(session.holders, rol, [orador]);
  if (data.citante === true && orador) learn(session.citantes, rol, [orador]);
}

/** The blocks (in acta order), each speaker named as the session names them: _named_as_in_the_session there. */
function namedAsInTheSession(blocks) {
  const session = {
    members: membersListed(blocks),
    holders: new Map(), // an office's words (or a role): who held it
    citantes: new Map(), // the citantes named, by the role said of them
    elected: new Map(), // a role the session elected someone to, not yet sworn in
    last: null, // the role of the last election declared
  };
  let presides = ""; // who presides, as the opening said
  return blocks.map((block) => {
    let data = block.structured_data;
    if (block.deleted || !isMapping(data) || truthy(data[CARRIED])) return block;
    if (block.template_id === "TPL_APERTURA" && truthy(data.preside)) presides = asText(data.preside);
    if (chairAddressed(data, asText(block.text), presides)) {
      data = Object.fromEntries(Object.entries(data).filter(([k]) => !SPEAKER_FIELDS.includes(k)));
    }
    learnElected(data, session); // "Queda usted posesionado. Tiene la palabra el señor personero."
    const named = speakerNamed(data, session);
    learnHolders(named, session);
    return named === block.structured_data ? block : { ...block, structured_data: named };
  });
}

/** Fields of a block's data that name one person, and that list people (_NAMED_ONE, _NAMED_MANY there). */
const NAMED_ONE = ["orador", "preside", "secretario", "delegado", "presidente", "elegido"];
const NAMED_MANY = [...ROLL_CALL_KEYS, "autores", "ponentes", "invitados", "llegadas", "salidas"];
const ASCII_RE = /^[\x00-\x7f]*$/;

/** The people a block's data names: _names_said there. */
function namesSaid(data) {
  const said = NAMED_ONE.map((key) => data[key]);
  if (isMapping(data.eleccion)) said.push(data.eleccion.elegido);
  for (const key of NAMED_MANY) if (Array.isArray(data[key])) said.push(...data[key].map(personName));
  return said.filter((name) => typeof name === "string" && name.trim()).map((name) => name.trim());
}

/** Accents a name is heard without; ñ is a letter, heard in lowercase speech too (_ACCENT_MARKS there). */
const ACCENT_MARKS_RE = /[áéíóúüÁÉÍÓÚÜ]/;

/** How many letters of a name are not ASCII, accents and ñ (_marks there). */
function marks(name) {
  return codePoints(name).filter((c) => !ASCII_RE.test(c)).length;
}

/** The offices a block's data says: its speaker's (`cargo`) and its guests' (_offices_said there). */
function officesSaid(data) {
  const said = [data.cargo];
  if (Array.isArray(data.invitados)) said.push(...data.invitados.map((g) => (isMapping(g) ? g.cargo : null)));
  return said.filter((office) => typeof office === "string" && office.trim()).map((office) => office.trim());
}

/**
 * The speakers heard without an accent ("alvaro jose benitez", "Alexandra Hernandez Cedeño" with
 * its ñ) spelled as the session spelled the same words elsewhere, with more accents, when it did
 * one way only; and a speaker's office heard in lowercase without accents as the session wrote
 * the same office, when it did one way only: `datas` (the blocks' data, as given the floor) so
 * spelled. The speaker part of _as_spelled there (which spells the members that roll calls and
 * nominal votes list too, not shown as speakers).
 */
function asSpelled(blocks, datas) {
  const spellings = new Map();
  const offices = new Map();
  const add = (map, said) => {
    const key = nameWords(said).join(" ");
    if (!map.has(key)) map.set(key, new Set());
    map.get(key).add(said);
  };
  blocks.forEach((block, i) => {
    if (block.deleted || !isMapping(block.structured_data)) return;
    for (const said of namesSaid(datas[i])) if (!ASCII_RE.test(said)) add(spellings, said);
    for (const said of officesSaid(datas[i])) if (!(ASCII_RE.test(said) && said === said.toLowerCase())) add(offices, said);
  });
  return datas.map((data) => {
    let out = data;
    const heard = data.orador;
    if (typeof heard === "string" && !ACCENT_MARKS_RE.test(heard)) {
      const known = [...(spellings.get(nameWords(heard).join(" ")) || [])].filter((said) => marks(said) > marks(heard));
      if (known.length === 1) out = { ...out, orador: known[0] };
    }
    const office = out.cargo;
    if (typeof office === "string" && ASCII_RE.test(office) && office === office.toLowerCase()) {
      const known = offices.get(nameWords(office).join(" "));
      if (known && known.size === 1) out = { ...out, cargo: [...known][0] };
    }
    return out;
  });
}

/**
 * The ponentes of the bill under consideration when `block` is said, given those before it
 * (`ponentes`): a bill's heading names them, anything said in another section ends the bill.
 * given_the_floor's running `ponentes` there.
 */
export function ponentesAfter(ponentes, block) {
  if (!spoken(block) || block.type !== "TEMPLATE") return ponentes;
  if (block.template_id !== BILL_TEMPLATE) return [];
  const data = dataOf(block);
  if (!truthy(data.numero) && !truthy(data.titulo)) return ponentes;
  return Array.isArray(data.ponentes) ? data.ponentes : [];
}

/** A block's data without the speaker fields stored with orador_por_anuncio by earlier versions: derived again. */
function withoutCarried(data) {
  if (!truthy(data[CARRIED])) return data;
  return Object.fromEntries(Object.entries(data).filter(([k]) => k !== CARRIED && !SPEAKER_FIELDS.includes(k)));
}

/**
 * The data the acta writes `block` with, `previous` being the block said right before it (or
 * null) and `ponentes` those of the bill under consideration when it was said (ponentesAfter):
 * an intervention that does not say who speaks, right after the chair's grant of the floor,
 * under the speaker the grant named (and `orador_por_anuncio: true`); words naming the same
 * speaker take what the grant said of them. The rule BUILDER applies (given_the_floor in
 * server/services/docx_builder.py), derived from the blocks as they stand rather than stored,
 * so the draft shows what the acta will say whatever order the blocks arrived in, and follows
 * a grant corrected or deleted later.
 */
export function givenTheFloor(previous, block, ponentes = [], previousShown = null) {
  const data = withoutCarried(dataOf(block));
  if (!spoken(block) || !isSpeech(block) || !previous || !spoken(previous) || !isSpeech(previous)) return data;
  const own = OWN_FIELDS.filter((key) => truthy(data[key]));
  const said = withoutCarried(dataOf(previous));
  if (!truthy(said.anuncio)) {
    // a piece cut from words with their speaker at the maximum length is theirs too
    const shown = previousShown || said;
    if (own.length || block.template_id !== previous.template_id || !continuesSpeech(block)) return data;
    if (!truthy(shown.orador) || truthy(shown.anuncio)) return data;
    const speaker = {};
    for (const key of SPEAKER_FIELDS) if (truthy(shown[key])) speaker[key] = shown[key];
    return { ...data, ...speaker, [CARRIED]: true };
  }
  // an item's section takes only the words after a grant said in it, not the next item's announcement
  if (block.template_id !== previous.template_id && !INTERVENTION_TEMPLATES.has(block.template_id)) return data;
  if (own.length > 1 || (own.length === 1 && own[0] !== "orador")) return data;
  const speaker = {};
  for (const key of SPEAKER_FIELDS) if (truthy(said[key])) speaker[key] = said[key];
  let grant = speaker;
  if (!truthy(said.orador)) {
    const ponente = truthy(said.ponente) ? ponenteNamed(said, Array.isArray(ponentes) ? ponentes : []) : null;
    if (ponente) {
      grant = { ...speaker, orador: ponente }; // "la concejala ponente": the bill's heading names her
    } else if (truthy(said.cargo)) {
      // an official named by office alone ("tiene la palabra el secretario de Hacienda"): the office is the speaker
      const saidText = typeof previous.text === "string" ? previous.text : "";
      grant = { orador: officeAsSpeaker(String(said.cargo), saidText) };
    } else if (oneHolderGranted(said, typeof previous.text === "string" ? previous.text : "")) {
      // "tiene la palabra el señor personero", no name known for him: the office is the speaker
      grant = { orador: oneHolderGranted(said, previous.text) };
    } else {
      return data;
    }
  }
  if (!own.length) return { ...data, ...grant, [CARRIED]: true };
  // words naming their own speaker: the same person keeps what the grant said of them
  return samePerson(data.orador, grant.orador) ? { ...grant, ...data, [CARRIED]: true } : data;
}

/**
 * The data the acta writes each block with, by block_id: `blocks` as the view holds them (in
 * any order: by position, those without one last, in the order given). The steps build_docx
 * takes before it writes a word (server/services/docx_builder.py), in its order: each speaker
 * named as the session names them (namedAsInTheSession), each block given the floor by the one
 * said right before it (givenTheFloor, with the ponentes of the bill under consideration then:
 * ponentesAfter), each speaker spelled as the session spelled the name (asSpelled). Derived at
 * display time from the blocks as they stand, never stored; tests/test_draft_parity.py holds it
 * to the builder's on every whole-session fixture.
 */
export function speakersOf(blocks) {
  const ordered = blocks
    .filter((b) => b && typeof b.block_id === "string")
    .map((block, i) => [block, i])
    .sort(([a, i], [b, j]) => (positionOf(a) ?? Infinity) - (positionOf(b) ?? Infinity) || i - j)
    .map(([block]) => block);
  const named = namedAsInTheSession(ordered);
  const given = [];
  let previous = null;
  let ponentes = [];
  let before = []; // the ponentes once `previous` was said
  let previousShown = null; // the data `previous` is written with
  for (const block of named) {
    const shown = givenTheFloor(previous, block, before, previousShown);
    given.push(shown);
    if (!spoken(block)) continue;
    ponentes = ponentesAfter(ponentes, block);
    previous = block;
    previousShown = shown;
    before = ponentes;
  }
  const spelled = asSpelled(named, given);
  return new Map(ordered.map((block, i) => [block.block_id, spelled[i]]));
}

/** What the view shows of who speaks in a block's data (to redraw a block only when it changed). */
function speakerKey(data) {
  return JSON.stringify([...SPEAKER_FIELDS, CARRIED].map((key) => data[key] ?? null));
}

// -- model ---------------------------------------------------------------------------------------

/**
 * What the events of one session say so far. `lastEventId` is the id of the last event
 * applied; the model and that id are saved together (sessionStorage) so a reload resumes the
 * stream exactly where the restored draft ends.
 */
export class DraftModel {
  constructor(sessionId, saved = null) {
    this.sessionId = sessionId;
    this.lastEventId = 0;
    this.status = null;
    this.metadata = {};
    this.blocks = [];
    this.final = null; // data of session.finalized
    this.failure = null; // data of session.finalize_failed
    this.sessionDiscarded = null; // {reason, by, at} of session.discarded: closed with no acta
    this.utterances = []; // utterance.detected data still waiting for their block
    this.discarded = []; // utterance.discarded data: audio the recognizer heard no words in
    if (saved && saved.v === SNAPSHOT_VERSION && Number.isSafeInteger(saved.lastEventId)) {
      this.lastEventId = saved.lastEventId;
      this.status = saved.status || null;
      this.metadata = saved.metadata || {};
      this.blocks = Array.isArray(saved.blocks) ? saved.blocks : [];
      this.final = saved.final || null;
      this.failure = saved.failure || null;
      this.sessionDiscarded = saved.sessionDiscarded || null;
      this.utterances = Array.isArray(saved.utterances) ? saved.utterances : [];
      this.discarded = Array.isArray(saved.discarded) ? saved.discarded : [];
    }
    this.blockIds = new Set(this.blocks.map((b) => b.block_id));
    this.transcribed = new Set(this.blocks.map(utteranceOf).filter(Boolean));
  }

  static restore(sessionId) {
    return new DraftModel(sessionId, session.getJSON(`draft.${sessionId}`));
  }

  save() {
    const ok = session.setJSON(`draft.${this.sessionId}`, {
      v: SNAPSHOT_VERSION,
      lastEventId: this.lastEventId,
      status: this.status,
      metadata: this.metadata,
      blocks: this.blocks,
      final: this.final,
      failure: this.failure,
      sessionDiscarded: this.sessionDiscarded,
      utterances: this.utterances,
      discarded: this.discarded,
    });
    // Without a complete snapshot a reload must replay from the start, not from lastEventId.
    if (!ok) session.remove(`draft.${this.sessionId}`);
  }

  static forget(sessionId) {
    session.remove(`draft.${sessionId}`);
  }

  /**
   * Apply one event frame. Returns null for an event already applied (id <= lastEventId),
   * false when ids skip (the caller resumes from the log), else the change for the view:
   * {kind, block?, utterance?, blockId?, utteranceId?} (block.updated: the new version of the block;
 * block.deleted: blockId; utterance.discarded: utteranceId).
   */
  apply(event) {
    const id = event.id;
    if (typeof id !== "number" || !Number.isSafeInteger(id)) return null;
    if (id <= this.lastEventId) return null;
    if (id !== this.lastEventId + 1) return false;
    this.lastEventId = id;
    const data = event.data && typeof event.data === "object" ? event.data : {};
    const change = { kind: event.kind, at: event.at, actor: event.actor };
    switch (event.kind) {
      case "session.started":
        this.status = this.status || "OPEN";
        this.metadata = data.metadata && typeof data.metadata === "object" ? data.metadata : {};
        break;
      case "block.added": {
        const block = data.block;
        if (block && typeof block === "object" && !this.blockIds.has(block.block_id)) {
          this.blocks.push(block);
          this.blockIds.add(block.block_id);
          this.settle(block);
          change.block = block;
        }
        break;
      }
      case "block.updated": {
        const block = data.block;
        if (block && typeof block === "object" && typeof block.block_id === "string") {
          const index = this.blocks.findIndex((b) => b.block_id === block.block_id);
          if (index >= 0) this.blocks[index] = block;
          else this.blocks.push(block);
          this.blockIds.add(block.block_id);
          this.settle(block);
          change.block = block;
        }
        break;
      }
      case "block.inserted": {
        const block = data.block;
        if (block && typeof block === "object" && !this.blockIds.has(block.block_id)) {
          this.blocks.push(block);
          this.blockIds.add(block.block_id);
          change.block = block;
        }
        break;
      }
      case "block.deleted": {
        // A tombstone: the block leaves the draft (the acta skips it too).
        const id = data.block_id;
        if (typeof id === "string") {
          this.blocks = this.blocks.filter((b) => b.block_id !== id);
          change.blockId = id;
        }
        break;
      }
      case "utterance.discarded": {
        // The recognizer heard no words: no block will come for this utterance, but its audio
        // is kept, to be listened to and written by hand if something was said.
        const id = data.utterance_id;
        if (typeof id === "string") {
          this.transcribed.add(id);
          this.utterances = this.utterances.filter((u) => u.utterance_id !== id);
          change.utteranceId = id;
          if (!this.discarded.some((u) => u.utterance_id === id)) {
            const heard = utteranceRecord(id, data);
            this.discarded.push(heard);
            change.discarded = heard;
          }
        }
        break;
      }
      case "utterance.detected": {
        const id = data.utterance_id;
        if (typeof id === "string" && !this.transcribed.has(id) && !this.utterances.some((u) => u.utterance_id === id)) {
          const utterance = utteranceRecord(id, data);
          this.utterances.push(utterance);
          change.utterance = utterance;
        }
        break;
      }
      case "session.closing":
        this.status = "CLOSING";
        break;
      case "session.finalized":
        this.status = "FINALIZED";
        this.final = data;
        this.failure = null;
        break;
      case "session.finalize_failed":
        this.status = "FINALIZE_FAILED";
        this.failure = data;
        break;
      case "session.discarded":
        this.status = "DISCARDED";
        this.sessionDiscarded = { reason: String(data.reason || ""), by: event.actor || "", at: event.at };
        break;
      default:
        break; // a kind this console does not know yet: skipped, but its id counts
    }
    return change;
  }

  /** Utterances heard with no words that no block (one a person wrote for it) stands for now. */
  unwritten() {
    if (!this.discarded.length) return [];
    const written = new Set(this.blocks.filter((b) => !b.deleted).map(utteranceOf).filter(Boolean));
    return this.discarded.filter((u) => !written.has(u.utterance_id));
  }

  /** The block a person's words for an utterance go after: the last one said before it. */
  blockBefore(position) {
    let best = null;
    for (const block of this.blocks) {
      const p = positionOf(block);
      if (block.deleted || p === null || typeof position !== "number" || p >= position) continue;
      if (!best || p > positionOf(best)) best = block;
    }
    return best;
  }

  /** A block arrived for an utterance: it is no longer waiting for its transcription. */
  settle(block) {
    const id = utteranceOf(block);
    if (!id) return;
    this.transcribed.add(id);
    this.utterances = this.utterances.filter((u) => u.utterance_id !== id);
  }
}

// -- view ----------------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function speakerName(value) {
  if (typeof value === "string") return value.trim();
  if (value && typeof value === "object") {
    for (const key of ["nombre", "name", "concejal"]) {
      if (typeof value[key] === "string" && value[key].trim()) return value[key].trim();
    }
  }
  return "";
}

function timeOf(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  return new Date(seconds * 1000).toLocaleTimeString("es-CO", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** Seconds on the session's audio timeline as m:ss (h:mm:ss past an hour). */
export function clock(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "";
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function audioSpan(start, end) {
  const a = clock(start);
  const b = clock(end);
  if (a && b) return `${a}–${b}`;
  return a || b;
}

function setPosition(item, position) {
  if (typeof position === "number" && Number.isFinite(position)) item.dataset.position = String(position);
}

/** Where an item goes in a list ordered by position; items without one stay at the end. */
function orderOf(item) {
  return item.dataset.position === undefined ? Infinity : Number(item.dataset.position);
}

/** The index of the first of a list's items (in order) placed after `order`, or at it too. */
function indexAfter(children, order, atToo = false) {
  let low = 0;
  let high = children.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const other = orderOf(children[middle]);
    if (other < order || (other === order && !atToo)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * One block as an <li>; exported so later features (editing) can re-render a block.
 * actions (optional): {canReprocess(): bool, reprocess(block): Promise, audioUrl(block):
 * Promise<string>, describe(error): string, played(audioElement), decorate(item, block)}.
 * `decorate` is called by DraftView on every rendered block (editing tools, open editors).
 * data (optional): the data to show the block with (givenTheFloor), else its own.
 */
export function renderBlock(block, actions = null, data = null) {
  const item = el("li", "block");
  const type = typeof block.type === "string" ? block.type : "TEMPLATE";
  item.classList.add(`block--${type.toLowerCase().replace(/_/g, "-")}`);
  item.tabIndex = -1; // focus can return here when the block is replaced by a new version
  if (typeof block.block_id === "string") item.dataset.blockId = block.block_id;
  setPosition(item, block.position);
  const utterance = utteranceOf(block);
  if (utterance) item.dataset.utteranceId = utterance;
  const audio = block.audio_metadata && typeof block.audio_metadata === "object" ? block.audio_metadata : null;

  const pending = type === "ERROR_PENDING_REVIEW";
  const meta = el("p", "block__meta");
  const label = block.label || block.intent || "Bloque";
  if (!pending || label !== "Pendiente de revisión") meta.append(el("span", "block__label", label));
  const when = timeOf(block.created_at);
  if (when) meta.append(el("span", "block__time", when));
  if (fromAudio(block)) {
    // The machine's principal ("astra") means nothing to a reader: the words were recognized.
    const author = el("span", "block__author", pending ? "audio sin transcribir" : "transcripción automática");
    author.title = "Reconocido automáticamente del audio grabado";
    meta.append(author);
  } else if (block.created_by) {
    meta.append(el("span", "block__author", block.created_by));
  }
  if (audio) {
    const span = audioSpan(audio.time_start, audio.time_end);
    meta.append(el("span", "block__audio", span ? `audio ${span}` : "audio"));
  }
  if (block.human_edited && typeof block.edited_by === "string" && block.edited_by) {
    const kind = block.source && block.source.kind === "human" && block.version === 1 ? "añadido" : "editado";
    const marker = el("span", "block__edited", `${kind} por ${block.edited_by}`);
    const at = timeOf(block.edited_at);
    if (at) marker.title = `${kind} a las ${at}`;
    meta.append(marker);
  }
  if (Number.isInteger(block.version)) {
    const version = el("span", "block__version", `versión ${block.version}`);
    version.dataset.version = String(block.version);
    meta.append(version);
  }
  item.append(meta);

  if (lowConfidence(block)) {
    item.classList.add("block--low-confidence");
    const flag = el("p", "block__flag block__flag--low");
    flag.append(el("strong", null, "Baja confianza — revisar con el audio"));
    const percent = Math.round(audio.asr_confidence * 100);
    flag.append(" ", el("span", "block__confidence", `(confianza del reconocimiento: ${percent} %)`));
    item.append(flag);
  }

  if (pending) {
    const error = block.error && typeof block.error === "object" ? block.error : {};
    const flag = el("p", "block__flag");
    flag.append(el("strong", null, "Pendiente de revisión"));
    if (error.code) flag.append(" ", el("code", "block__code", error.code));
    if (error.message) {
      const attempts = Number.isInteger(error.attempts) ? ` (${error.attempts} intento(s))` : "";
      flag.append(" ", el("span", "block__reason", `${error.message}${attempts}`));
    }
    item.append(flag);
  }

  if (type === "IMAGE") {
    const asset = block.asset && typeof block.asset === "object" ? block.asset : {};
    const figure = el("p", "block__image");
    figure.append(el("span", "block__image-icon", "Imagen:"), " ");
    figure.append(el("span", "block__caption", (block.text || "").trim() || asset.caption || asset.filename || "sin título"));
    if (asset.filename && asset.filename !== asset.caption) {
      figure.append(" ", el("span", "block__filename", `(${asset.filename})`));
    }
    item.append(figure);
  } else {
    const text = el("p", "block__text");
    const shown = data || dataOf(block);
    // An announcement ("Tiene la palabra el concejal…") is the chair's words: no speaker label,
    // as in the acta.
    const speaker = shown.anuncio === true ? null : speakerName(shown.orador);
    if (speaker) {
      const label = el("strong", "block__speaker", `${speaker.replace(/:\s*$/, "")}:`);
      if (truthy(shown[CARRIED])) {
        label.classList.add("block__speaker--given");
        label.title = "Nombrado por la presidencia al darle la palabra";
      }
      text.append(label, " ");
    }
    text.append(typeof block.text === "string" ? block.text : "");
    item.append(text);
  }

  if (actions) appendActions(item, block, audio, pending, actions);
  return item;
}

function excerpt(block) {
  const text = typeof block.text === "string" ? block.text.trim() : "";
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Fetch a signed audio link (`url()`) and play it in an <audio> of the item, with controls. */
async function playInto(item, play, status, url, actions, label) {
  play.disabled = true;
  status.dataset.kind = "";
  status.textContent = "Cargando el audio…";
  try {
    const src = await url();
    let player = item.querySelector("audio.block__player");
    if (!player) {
      player = el("audio", "block__player");
      player.controls = true;
      player.preload = "auto";
      player.setAttribute("aria-label", label);
      item.append(player);
    }
    player.src = src;
    status.textContent = "";
    if (actions.played) actions.played(player);
    try {
      await player.play();
    } catch {
      // Autoplay refused or no output device: the controls are there to start it by hand.
    }
  } catch (exc) {
    status.dataset.kind = "error";
    status.textContent = `No se pudo obtener el audio: ${actions.describe ? actions.describe(exc) : exc}`;
  } finally {
    play.disabled = false;
  }
}

function appendActions(item, block, audio, pending, actions) {
  const canPlay = Boolean(audio && audio.audio_ref && actions.audioUrl);
  const canReprocess = Boolean(pending && actions.reprocess);
  if (!canPlay && !canReprocess) return;
  const bar = el("div", "block__actions");
  const status = el("span", "block__status");
  status.setAttribute("role", "status");
  const what = excerpt(block);

  if (canPlay) {
    const play = el("button", "small block__play", "Escuchar");
    play.type = "button";
    const span = audioSpan(audio.time_start, audio.time_end);
    play.setAttribute("aria-label", `Escuchar el audio${span ? ` (${span})` : ""}${what ? `: ${what}` : ""}`);
    play.addEventListener("click", () =>
      playInto(item, play, status, () => actions.audioUrl(block), actions, `Audio del bloque${what ? `: ${what}` : ""}`),
    );
    bar.append(play);
  }

  if (canReprocess) {
    const again = el("button", "small block__reprocess", "Reprocesar");
    again.type = "button";
    again.setAttribute("aria-label", `Reprocesar el bloque pendiente de revisión${what ? `: ${what}` : ""}`);
    again.hidden = actions.canReprocess ? !actions.canReprocess() : false;
    again.addEventListener("click", async () => {
      again.disabled = true;
      item.setAttribute("aria-busy", "true");
      status.dataset.kind = "";
      status.textContent = "Reprocesando…";
      try {
        await actions.reprocess(block);
        // The new version arrives as block.updated and replaces this item.
        status.dataset.kind = "ok";
        status.textContent = "Reprocesado.";
      } catch (exc) {
        status.dataset.kind = "error";
        status.textContent = `No se pudo reprocesar: ${actions.describe ? actions.describe(exc) : exc}`;
      } finally {
        again.disabled = false;
        item.removeAttribute("aria-busy");
      }
    });
    bar.append(again);
  }
  bar.append(status);
  item.append(bar);
}

/** An utterance being transcribed: a greyed placeholder where its block will appear. */
export function renderPlaceholder(utterance) {
  const item = el("li", "block block--transcribing");
  item.dataset.utteranceId = utterance.utterance_id;
  setPosition(item, utterance.position);
  item.setAttribute("aria-busy", "true");
  const meta = el("p", "block__meta");
  const span = audioSpan(utterance.time_start, utterance.time_end);
  meta.append(el("span", "block__label", "Audio"));
  if (span) meta.append(el("span", "block__audio", span));
  item.append(meta, el("p", "block__text block__placeholder", "Transcribiendo…"));
  return item;
}

/**
 * An utterance the recognizer heard no words in: a dim row where it was said, to listen to it
 * and, if something was said, write it by hand (actions.writeHeard) in a block linked to it.
 */
export function renderDiscarded(utterance, actions = null) {
  const item = el("li", "block block--discarded");
  item.dataset.utteranceId = utterance.utterance_id;
  setPosition(item, utterance.position);
  const meta = el("p", "block__meta");
  const span = audioSpan(utterance.time_start, utterance.time_end);
  meta.append(el("span", "block__label", "Audio sin palabras reconocidas"));
  if (span) meta.append(el("span", "block__audio", span));
  item.append(
    meta,
    el(
      "p",
      "block__text block__placeholder",
      "El reconocimiento no encontró palabras en este audio (ruido, tos, voz muy baja…). Escúchelo: si se dijo algo, escríbalo.",
    ),
  );
  if (!actions) return item;
  const bar = el("div", "block__actions");
  const status = el("span", "block__status");
  status.setAttribute("role", "status");
  if (actions.heardUrl) {
    const play = el("button", "small block__play", "Escuchar");
    play.type = "button";
    play.setAttribute("aria-label", `Escuchar el audio sin palabras reconocidas${span ? ` (${span})` : ""}`);
    play.addEventListener("click", () =>
      playInto(item, play, status, () => actions.heardUrl(utterance), actions, "Audio sin palabras reconocidas"),
    );
    bar.append(play);
  }
  if (actions.writeHeard) {
    const write = el("button", "small block__write", "Escribir lo dicho");
    write.type = "button";
    write.setAttribute("aria-label", `Escribir lo dicho en el audio${span ? ` ${span}` : ""}`);
    write.hidden = actions.canWrite ? !actions.canWrite() : false;
    write.addEventListener("click", () => actions.writeHeard(utterance));
    bar.append(write);
  }
  bar.append(status);
  item.append(bar);
  if (actions.decorateHeard) actions.decorateHeard(item, utterance);
  return item;
}

export class DraftView {
  /**
   * root: the element that holds the zones (an aria-live region).
   * actions: what the blocks' buttons do (see renderBlock); none without it.
   */
  constructor(root, actions = null) {
    this.root = root;
    this.lists = new Map();
    this.shown = new Map(); // block_id → the block drawn, to derive who speaks in each
    this.speakers = new Map(); // block_id → the data it is drawn with (speakersOf the blocks shown)
    this.drawn = new Map(); // block_id → what its item shows of who speaks (speakerKey)
    this.items = new Map(); // block_id → its item (<li>), found without searching the document
    this.heard = new Map(); // utterance id → the items drawn for it (its block, its row)
    this.speakersFrame = null; // the animation frame that works the speakers out again
    this.speakersTimer = null; // or the timer before it, while blocks keep coming
    this.speakersNext = 0; // performance.now() before which they are not worked out again
    this.player = null; // the <audio> in use, so only one block plays at a time
    this.emptyZones = null; // the session's pinned empty_zones (zone → sentence or null), once known
    this.finalized = false;
    this.actions = actions && {
      ...actions,
      played: (player) => {
        if (this.player && this.player !== player) {
          this.player.pause();
          this.player.remove();
        }
        this.player = player;
        if (actions.played) actions.played(player);
      },
    };
    this.build();
  }

  build() {
    this.root.replaceChildren();
    this.lists.clear();
    this.items.clear();
    this.heard.clear();
    for (const [zone, heading] of ZONES) this.addZone(zone, heading);
  }

  addZone(zone, heading) {
    const section = el("section", "zone");
    section.dataset.zone = zone;
    const id = `zone-${zone.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
    const title = el("h3", "zone__title", heading);
    title.id = id;
    section.setAttribute("aria-labelledby", id);
    const list = el("ol", "zone__blocks");
    const empty = el("p", "zone__empty", "Sin contenido todavía.");
    section.append(title, list, empty);
    this.root.append(section);
    const entry = { zone, section, list, empty };
    this.lists.set(zone, entry);
    this.describeEmpty(entry);
    return entry;
  }

  /**
   * What the acta does with the sections left empty: the tenant's `empty_zones` pinned with the
   * session (GET session, `pinned.empty_zones`: zone → a sentence to write, or null to leave the
   * section out; a zone not named is printed as a bare heading), and whether it is finalized.
   */
  setEmptyZones(emptyZones, finalized = this.finalized) {
    this.emptyZones = emptyZones && typeof emptyZones === "object" && !Array.isArray(emptyZones) ? emptyZones : null;
    this.finalized = Boolean(finalized);
    for (const entry of this.lists.values()) this.describeEmpty(entry);
  }

  setFinalized(finalized) {
    this.setEmptyZones(this.emptyZones, finalized);
  }

  /** The note of an empty zone: what BUILDER does with it (build_docx), once the session says. */
  describeEmpty(entry) {
    const now = this.finalized ? "Sin contenido" : "Sin contenido todavía";
    let fate = "";
    let note = "";
    if (entry.zone === SIGNATURE_ZONE) {
      fate = "signatures";
      note = this.finalized
        ? "el acta lleva las firmas de la presidencia y la secretaría."
        : "si queda vacía, el acta llevará las firmas de la presidencia y la secretaría.";
    } else if (this.emptyZones && Object.hasOwn(this.emptyZones, entry.zone)) {
      const sentence = this.emptyZones[entry.zone];
      if (typeof sentence === "string" && sentence.trim()) {
        fate = "sentence";
        note = `${this.finalized ? "el acta dice" : "si queda vacía, el acta dirá"}: «${sentence.trim()}»`;
      } else {
        fate = "omit";
        note = this.finalized ? "omitida del acta." : "se omitirá del acta si queda vacía.";
      }
    } else if (this.emptyZones && UNTITLED_ZONES.has(entry.zone)) {
      fate = "blank";
      note = this.finalized
        ? "el acta no lleva nada aquí (esta parte no tiene título), solo un comentario que lo señala."
        : "si queda vacía, el acta no llevará nada aquí (esta parte no tiene título), solo un comentario que lo señala.";
    } else if (this.emptyZones) {
      fate = "blank";
      note = this.finalized ? "aparece vacía en el acta (solo el título)." : "aparecerá vacía en el acta (solo el título).";
    }
    entry.section.dataset.emptyFate = fate;
    entry.empty.textContent = note ? `${now}: ${note}` : `${now}.`;
  }

  zoneFor(name) {
    const zone = typeof name === "string" && name ? name : "ZONE_DEBATE";
    // A zone outside the standard skeleton still shows, after the others, under its own name.
    return this.lists.get(zone) || this.addZone(zone, zone);
  }

  /**
   * Put an item in a zone's list at its position (after items of equal position). The list is
   * kept in order, so the place is found by bisection, and at once for an item that goes last
   * (a block just said, or a late console replaying the log: reading every item's position for
   * each block added made that replay quadratic).
   */
  place(entry, item) {
    const order = orderOf(item);
    const last = entry.list.lastElementChild; // (a list's length is counted again after each change)
    const next = !last || orderOf(last) <= order ? null : entry.list.children[indexAfter(entry.list.children, order)];
    entry.list.insertBefore(item, next || null);
    this.refreshZone(entry);
  }

  refreshZone(entry) {
    entry.empty.hidden = entry.list.firstElementChild !== null;
    entry.section.classList.toggle("zone--filled", entry.list.querySelector(".block:not(.block--transcribing):not(.block--discarded)") !== null);
  }

  refreshAll() {
    for (const entry of this.lists.values()) this.refreshZone(entry);
  }

  /** The item drawn for a block, if it is still in the draft. */
  itemOf(blockId) {
    const item = this.items.get(blockId);
    return item && this.holds(item) ? item : null;
  }

  holds(item) {
    return this.root.contains(item);
  }

  /** Keep an item drawn for an utterance (a block recognized from it, its row) to find it by. */
  addHeard(item) {
    const id = item.dataset.utteranceId;
    if (id === undefined) return;
    if (!this.heard.has(id)) this.heard.set(id, new Set());
    this.heard.get(id).add(item);
  }

  /** Forget an item taken out of the draft (so it is not kept alive for nothing). */
  forgetHeard(item) {
    const id = item.dataset.utteranceId;
    const items = id === undefined ? undefined : this.heard.get(id);
    if (!items) return;
    items.delete(item);
    if (!items.size) this.heard.delete(id);
  }

  /** The items in the draft drawn for an utterance (those no longer in it are forgotten). */
  heardItems(utteranceId) {
    const items = this.heard.get(utteranceId);
    if (!items) return [];
    for (const item of items) if (!this.holds(item) || item.dataset.utteranceId !== utteranceId) items.delete(item);
    if (!items.size) this.heard.delete(utteranceId);
    return [...items];
  }

  /**
   * Add a block, or replace the item of a block with the same id (a new version); the other
   * blocks whose speaker it changes are redrawn (a grant of the floor that arrived after the
   * words, was corrected or moved; a roll call naming a member in full; an office's holder
   * named; a bill's heading naming the ponente given the floor by part alone).
   */
  addBlock(block) {
    const id = typeof block.block_id === "string" ? block.block_id : null;
    if (id) {
      this.shown.set(id, block);
      this.speakers.delete(id); // worked out from its last version: drawn from its own data now
    }
    this.draw(block, this.dataFor(block));
    this.speakersChanged();
  }

  /**
   * Work out who speaks in each block again (speakersOf, over every block shown) in the next
   * frame, and redraw the blocks it changes: a console joining late replays the whole event
   * log, and doing it for each block added took seconds for a session's thousands of blocks.
   * Not sooner than SPEAKERS_SPACING times as long as the last time took after it (a change
   * made later goes in the next frame; at most SPEAKERS_WAIT): once a frame, that replay spent
   * most of its time there (each time over every block shown), the blocks drawn meanwhile
   * with their own data.
   */
  speakersChanged() {
    if (this.speakersFrame !== null || this.speakersTimer !== null) return;
    const wait = this.speakersNext - performance.now();
    if (wait > 0) {
      this.speakersTimer = setTimeout(() => {
        this.speakersTimer = null;
        this.speakersChanged();
      }, wait);
      return;
    }
    this.speakersFrame = requestAnimationFrame(() => {
      this.speakersFrame = null;
      const started = performance.now();
      this.speakers = speakersOf([...this.shown.values()]);
      this.redrawSpeakers();
      const ended = performance.now();
      this.speakersNext = ended + Math.min(SPEAKERS_SPACING * (ended - started), SPEAKERS_WAIT);
    });
  }

  /** Stop a pending working out of the speakers (the draft is drawn again from scratch). */
  cancelSpeakers() {
    if (this.speakersFrame !== null) cancelAnimationFrame(this.speakersFrame);
    if (this.speakersTimer !== null) clearTimeout(this.speakersTimer);
    this.speakersFrame = null;
    this.speakersTimer = null;
  }

  /** The data a block is shown with: what the acta writes it with (speakersOf). */
  dataFor(block) {
    const data = typeof block.block_id === "string" ? this.speakers.get(block.block_id) : undefined;
    return data || dataOf(block);
  }

  /** Redraw the blocks shown (but `except`) whose speaker is no longer the one they show. */
  redrawSpeakers(except = null) {
    for (const block of this.shown.values()) {
      if (block.block_id === except) continue;
      const data = this.dataFor(block);
      if (this.drawn.get(block.block_id) === speakerKey(data)) continue;
      if (this.itemOf(block.block_id)) this.draw(block, data);
    }
  }

  draw(block, data) {
    const utterance = utteranceOf(block);
    if (utterance) this.removePlaceholder(utterance);
    let refocus = false;
    let active = null; // the focused element inside the old item (an editor's textarea)
    let selection = null;
    if (typeof block.block_id === "string") {
      const old = this.itemOf(block.block_id);
      if (old) {
        refocus = old.contains(document.activeElement);
        if (refocus && document.activeElement !== old) {
          active = document.activeElement;
          if (typeof active.selectionStart === "number") {
            selection = [active.selectionStart, active.selectionEnd, active.selectionDirection];
          }
        }
        if (this.player && old.contains(this.player)) this.player = null;
        old.remove();
        this.forgetHeard(old);
        this.refreshAll();
      }
    }
    const item = renderBlock(block, this.actions, data);
    if (typeof block.block_id === "string") {
      this.drawn.set(block.block_id, speakerKey(data || dataOf(block)));
      this.items.set(block.block_id, item);
    }
    this.addHeard(item);
    if (this.actions && this.actions.decorate) this.actions.decorate(item, block);
    this.place(this.zoneFor(block.target_placeholder), item);
    if (active && item.contains(active)) {
      // An open editor moved into the new version of its block: keep the caret where it was.
      active.focus({ preventScroll: true });
      if (selection) {
        try {
          active.setSelectionRange(...selection);
        } catch {
          // not a text field after all
        }
      }
    } else if (refocus) {
      item.focus({ preventScroll: true });
    }
  }

  updateBlock(block) {
    this.addBlock(block);
  }

  removeBlock(blockId) {
    const old = this.shown.get(blockId);
    this.shown.delete(blockId);
    this.drawn.delete(blockId);
    const item = this.itemOf(blockId);
    this.items.delete(blockId);
    if (item) {
      if (this.player && item.contains(this.player)) this.player = null;
      item.remove();
      this.forgetHeard(item);
      this.refreshAll();
    }
    if (old) this.speakersChanged();
  }

  /**
   * The zone an utterance most likely continues: that of the block just before it (of blocks
   * at the same position, the last in the draft's order). Found by bisection in each zone's
   * list: reading every block of the draft for each utterance made a late console's replay
   * quadratic.
   */
  zoneOfPosition(position) {
    let best = null;
    let bestPosition = -Infinity;
    if (typeof position === "number") {
      for (const entry of this.lists.values()) {
        const before = this.lastBlockBefore(entry, position);
        if (before !== null && before >= bestPosition) {
          best = entry.zone;
          bestPosition = before;
        }
      }
    }
    return this.zoneFor(best || ZONES[0][0]);
  }

  /** The position of the last block in a zone's list said before `position`, or null. */
  lastBlockBefore(entry, position) {
    let item = entry.list.lastElementChild; // an utterance just said: after every item
    if (item && orderOf(item) >= position) {
      const at = indexAfter(entry.list.children, position, true);
      item = at > 0 ? entry.list.children[at - 1] : null;
    }
    // rows of utterances (being transcribed, heard with no words) and notices are not blocks
    for (; item; item = item.previousElementSibling) {
      if (item.matches(BLOCK_ITEM)) return Number(item.dataset.position);
    }
    return null;
  }

  addPlaceholder(utterance) {
    if (!utterance || typeof utterance.utterance_id !== "string") return;
    if (this.heardItems(utterance.utterance_id).length) return;
    const item = renderPlaceholder(utterance);
    this.place(this.zoneOfPosition(utterance.position), item);
    this.addHeard(item);
  }

  removePlaceholder(utteranceId) {
    const item = this.heardItems(utteranceId).find((row) => row.classList.contains("block--transcribing"));
    if (!item) return;
    item.remove();
    this.forgetHeard(item);
    this.refreshAll();
  }

  /**
   * Show exactly these utterances heard with no words (the model's unwritten()): a row each where
   * it was said; one a block now stands for (someone wrote it) goes, and comes back if that block
   * is deleted. A row shown follows the block said just before it (zoneOfPosition) into whatever
   * section that block is in now: called again after every change of a block.
   */
  showDiscarded(unwritten) {
    const wanted = new Map(unwritten.map((u) => [u.utterance_id, u]));
    const shown = this.root.querySelectorAll("li.block--discarded");
    if (!wanted.size && !shown.length) return;
    let changed = false;
    for (const item of shown) {
      const utterance = wanted.get(item.dataset.utteranceId);
      if (utterance) {
        wanted.delete(item.dataset.utteranceId);
        changed = this.follow(item, utterance.position) || changed;
      } else {
        if (this.player && item.contains(this.player)) this.player = null;
        if (this.actions && this.actions.heardGone) this.actions.heardGone(item, item.dataset.utteranceId);
        item.remove();
        this.forgetHeard(item);
        changed = true;
      }
    }
    for (const utterance of wanted.values()) {
      const item = renderDiscarded(utterance, this.actions);
      this.place(this.zoneOfPosition(utterance.position), item);
      this.addHeard(item);
    }
    if (changed) this.refreshAll();
  }

  /**
   * Move a row of audio heard with no words to the section it now belongs in: that of the block
   * said just before it, which a correction may have moved to another section. What was being
   * done in the row (its form, its player) moves with it, focus included. Whether it moved.
   */
  follow(item, position) {
    const entry = this.zoneOfPosition(position);
    if (item.parentNode === entry.list) return false;
    const focused = item.contains(document.activeElement) ? document.activeElement : null;
    this.place(entry, item);
    if (focused) focused.focus({ preventScroll: true });
    return true;
  }

  renderAll(blocks, utterances = [], unwritten = []) {
    this.build();
    this.player = null;
    this.shown = new Map(blocks.filter((b) => typeof b.block_id === "string").map((b) => [b.block_id, b]));
    this.drawn.clear();
    this.cancelSpeakers();
    this.speakers = speakersOf(blocks);
    for (const block of blocks) this.draw(block, this.dataFor(block));
    for (const utterance of utterances) this.addPlaceholder(utterance);
    this.showDiscarded(unwritten);
  }

  /** Permissions changed: show or hide the actions the role may take. */
  refreshActions() {
    const allowed = !this.actions || !this.actions.canReprocess || this.actions.canReprocess();
    for (const button of this.root.querySelectorAll(".block__reprocess")) button.hidden = !allowed;
    const writes = !this.actions || !this.actions.canWrite || this.actions.canWrite();
    for (const button of this.root.querySelectorAll(".block__write")) button.hidden = !writes;
  }
}
