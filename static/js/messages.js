// Spanish wording for the server's error codes (server/errors.py, protocol.md) and close codes.

const ERRORS = {
  UNAUTHORIZED: "La clave de acceso no es válida o expiró. Ingrese una nueva.",
  FORBIDDEN: "Su rol no permite esta acción.",
  FORBIDDEN_ORIGIN: "El servidor no acepta conexiones desde este origen.",
  NOT_FOUND: "La sesión no existe (o pertenece a otro concejo).",
  INVALID_INPUT: "Los datos enviados no son válidos.",
  INVALID_FIELD: "Un campo del mensaje falta o tiene un tipo incorrecto.",
  BAD_JSON: "El servidor no entendió la solicitud.",
  TOO_LARGE: "El archivo es demasiado grande.",
  SESSION_CLOSED: "La sesión ya está cerrada y no admite más contenido.",
  SESSION_TOO_LONG: "La sesión superó su duración máxima y no admite más grabación; corrija y finalice el acta.",
  RECORDING_ELSEWHERE:
    "Otra consola está grabando esta sesión; este audio no se guardó y la grabación aquí se detuvo. Grabe desde una sola consola.",
  TOO_MANY_SESSIONS: "El concejo tiene demasiadas sesiones abiertas; finalice alguna antes de iniciar otra.",
  LIMIT_EXCEEDED: "Se alcanzó un límite del servidor (por ejemplo, el de imágenes de la sesión); no se guardó.",
  CLIENT_ID_TAKEN: "Este navegador usaba la identidad de otra persona en la sesión; se toma una nueva.",
  TOO_MANY_CONNECTIONS: "La sesión tiene demasiadas conexiones abiertas; cierre otras pestañas o ventanas. Se reintentará.",
  SLOW_CONSUMER: "La conexión no recibía los eventos a tiempo; se reconecta y continúa donde iba.",
  IDLE_TIMEOUT: "La conexión estuvo inactiva demasiado tiempo; se reconecta.",
  SEQ_GAP: "Faltan fragmentos anteriores; se reenviarán.",
  STALE_VERSION: "Otra persona cambió el bloque antes; compare las dos versiones.",
  UTTERANCE_WRITTEN: "Un colega ya escribió lo dicho en este audio; agregue lo que falte en su bloque.",
  UTTERANCE_PENDING: "El reconocedor aún está transcribiendo este audio; espere su bloque y corríjalo allí.",
  PLACE_CONTENDED: "Otras personas estaban cambiando ese mismo lugar del acta; intente de nuevo.",
  POSITIONS_EXHAUSTED: "No queda lugar para un bloque nuevo en ese punto del acta; insértelo en otro punto.",
  CONFIG_ERROR: "La configuración del concejo (esqueleto o estilos) tiene un problema.",
  SERVICE_ERROR: "Un servicio interno falló.",
  SERVICE_UNAVAILABLE: "Un servicio interno no está disponible; intente de nuevo.",
  STORE_UNAVAILABLE:
    "El servidor no puede guardar por ahora: lo que envíe queda en espera en esta consola y se enviará al restablecerse.",
  AUDIO_BACKLOG:
    "El servidor va atrasado procesando el audio de esta sesión: la grabación sigue y el audio queda en espera en esta consola hasta que se ponga al día.",
  BUILD_FAILED: "No se pudo generar el documento del acta.",
  NOT_SUPPORTED: "El servidor todavía no ofrece esta función.",
  BAD_FRAME: "El servidor rechazó un mensaje mal formado.",
  FRAME_TOO_LARGE: "El mensaje es demasiado grande.",
  UNKNOWN_TYPE: "El servidor no reconoce el tipo de mensaje.",
  HELLO_TIMEOUT: "La conexión tardó demasiado en identificarse.",
  TOO_MANY_ERRORS: "Demasiados mensajes erróneos en la conexión.",
  NETWORK: "No se pudo contactar el servidor.",
  NOT_PENDING: "Solo se reprocesan bloques pendientes de revisión.",
  AUDIO_MISSING: "El audio guardado de este fragmento ya no está: escriba el texto a mano.",
  AUDIO_UNREADABLE: "El audio guardado de este fragmento está dañado: escriba el texto a mano.",
  AUDIO_NOT_SUPPORTED: "El servidor no acepta audio por esta vía.",
  UNSUPPORTED_AUDIO: "El servidor no acepta este formato de audio.",
  UNSUPPORTED_MEDIA: "Solo se aceptan imágenes PNG o JPEG completas.",
  IMAGE_TOO_LARGE: "La imagen es demasiado grande para el acta.",
  BAD_MULTIPART: "El archivo no llegó completo al servidor; intente de nuevo.",
  CORE_CIRCUIT_OPEN:
    "El servicio de transcripción falla repetidamente; lo recibido queda pendiente de revisión y se puede reprocesar después.",
  IDEMPOTENCY_KEY_REUSED: "La misma solicitud se envió antes con otro contenido.",
  HELLO_REQUIRED: "La conexión no se identificó antes de enviar.",
  DUPLICATE_HELLO: "La conexión ya estaba identificada.",
  UNSAFE_KEY: "Un nombre no es válido para guardarlo en el servidor.",
  INTERNAL: "Error interno del servidor.",
};

/** Codes whose server message says what exactly was wrong: it is shown too. */
const DETAILED = new Set([
  "LIMIT_EXCEEDED",
  "INVALID_INPUT",
  "INVALID_FIELD",
  "BAD_JSON",
  "CONFIG_ERROR",
  "SERVICE_ERROR",
  "BUILD_FAILED",
  "IMAGE_TOO_LARGE",
]);

/** "Spanish explanation [CODE]"; unknown codes keep the server's own message. */
export function describeError(code, message) {
  const known = ERRORS[code];
  if (known && message && DETAILED.has(code)) return `${known} Detalle: ${message} [${code}]`;
  if (known) return `${known} [${code}]`;
  return message ? `${message} [${code || "ERROR"}]` : `Error desconocido [${code || "ERROR"}]`;
}

const CLOSES = {
  1000: "conexión cerrada",
  1001: "la conexión se cerró en el camino al servidor",
  1012: "el servidor se está reiniciando",
  1006: "conexión interrumpida",
  1009: "mensaje demasiado grande",
  1013: "el servidor no puede guardar por ahora",
  4400: "error de protocolo",
  4401: "clave de acceso no válida o vencida",
  4403: "la identidad de este navegador pertenece a otra persona en la sesión",
  4404: "la sesión no existe",
  4408: "la conexión no se identificó o no respondió a tiempo",
  4429: "la sesión tiene demasiadas conexiones",
  4500: "error interno del servidor",
  4503: "la conexión no recibía los eventos a tiempo",
};

export function describeClose(code) {
  return CLOSES[code] || `código ${code}`;
}

export const STATUS_NAMES = {
  OPEN: "Abierta",
  CLOSING: "Cerrando: generando el acta",
  FINALIZED: "Finalizada",
  FINALIZE_FAILED: "Falló la generación del acta",
  DISCARDED: "Descartada: sin acta",
};

/** Blocks of each type in the audit summary, singular and plural ("13 de texto, 1 imagen"). */
export const BLOCK_TYPE_COUNTS = {
  TEMPLATE: ["de texto", "de texto"],
  IMAGE: ["imagen", "imágenes"],
  ERROR_PENDING_REVIEW: ["pendiente de revisión", "pendientes de revisión"],
};

/** What each template is, as the editor's menu shows it: TEMPLATE_LABELS of server/services/classifier.py. */
export const TEMPLATE_NAMES = {
  TPL_APERTURA: "Apertura de la sesión",
  TPL_ORDEN_DIA: "Orden del día",
  TPL_LLAMADO_LISTA: "Llamado a lista y verificación del quórum",
  TPL_APROBACION_ORDEN_DIA: "Aprobación del orden del día",
  TPL_APROBACION_ACTAS: "Aprobación de actas anteriores",
  TPL_DEBATE: "Intervención",
  TPL_PROYECTO_ACUERDO: "Proyecto de acuerdo",
  TPL_PROPOSICION: "Proposición",
  TPL_COMUNICACION: "Comunicaciones",
  TPL_VARIOS: "Asuntos varios",
  TPL_CIERRE: "Cierre de la sesión",
  TPL_FIRMAS: "Firmas",
};
