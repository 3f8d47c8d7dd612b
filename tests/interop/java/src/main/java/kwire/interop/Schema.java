package kwire.interop;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** One message definition (the parsed JSON) with struct lookup. */
final class Schema {
    static final Set<String> PRIMITIVES = Set.of(
        "bool", "int8", "int16", "uint16", "int32", "int64", "float64", "string", "bytes", "records", "uuid");

    final String name;
    final String type;
    final JsonNode root;
    final Versions validVersions;
    private final Map<String, JsonNode> commonStructs = new HashMap<>();
    private final Map<String, JsonNode> allStructs = new HashMap<>();

    Schema(JsonNode root) {
        this.root = root;
        this.name = root.path("name").asText();
        this.type = root.path("type").asText();
        this.validVersions = Versions.parse(root.path("validVersions").asText(null));
        for (JsonNode s : root.path("commonStructs")) {
            commonStructs.put(s.path("name").asText(), s.path("fields"));
            allStructs.putIfAbsent(s.path("name").asText(), s.path("fields"));
            register(s.path("fields"));
        }
        register(root.path("fields"));
    }

    private void register(JsonNode fields) {
        for (JsonNode f : fields) {
            if (f.has("fields")) {
                allStructs.putIfAbsent(elementType(f.path("type").asText()), f.path("fields"));
                register(f.path("fields"));
            }
        }
    }

    JsonNode fields() {
        return root.path("fields");
    }

    /** The Java class name of the generated message class. */
    String javaClassName() {
        switch (type) {
            case "request", "response", "header":
                return "org.apache.kafka.common.message." + name + "Data";
            default:
                return "org.apache.kafka.common.message." + name;
        }
    }

    static boolean isArray(String type) {
        return type.startsWith("[]");
    }

    static String elementType(String type) {
        return isArray(type) ? type.substring(2) : type;
    }

    static boolean isPrimitive(String type) {
        return PRIMITIVES.contains(type);
    }

    static Versions versions(JsonNode field) {
        return Versions.parse(field.path("versions").asText(null));
    }

    /** The fields of struct type T used by field f: its own nested fields, else commonStructs. */
    JsonNode structFields(JsonNode field, String structName) {
        if (field.has("fields")) return field.path("fields");
        JsonNode s = commonStructs.get(structName);
        if (s == null) s = allStructs.get(structName);
        if (s == null) throw new IllegalStateException(name + ": unknown struct type " + structName);
        return s;
    }
}
