package kwire.interop;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Small reflection helpers (message and record classes are only reached by name). */
final class Refl {
    private static final Map<String, Method> METHODS = new ConcurrentHashMap<>();

    private Refl() {}

    static Class<?> cls(String name) {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            return null;
        }
    }

    /** JSON field name to Java field name: lowercase first letter. */
    static String javaName(String jsonName) {
        return Character.toLowerCase(jsonName.charAt(0)) + jsonName.substring(1);
    }

    static String setterName(String jsonName) {
        return "set" + Character.toUpperCase(jsonName.charAt(0)) + jsonName.substring(1);
    }

    /** The public method of cls with the given name and parameter count (unique in generated classes). */
    static Method method(Class<?> cls, String name, int params) {
        String key = cls.getName() + "#" + name + "/" + params;
        Method m = METHODS.get(key);
        if (m != null) return m;
        for (Method cand : cls.getMethods()) {
            if (cand.getName().equals(name) && cand.getParameterCount() == params && !cand.isBridge()) {
                if (m != null && !m.getReturnType().isAssignableFrom(cand.getReturnType())) {
                    // keep the most specific one (covariant returns)
                    continue;
                }
                m = cand;
            }
        }
        if (m == null) throw new IllegalStateException("no method " + cls.getName() + "." + name + " with " + params + " parameter(s)");
        METHODS.put(key, m);
        return m;
    }

    static Object call(Object target, String name, Object... args) {
        return invoke(method(target.getClass(), name, args.length), target, args);
    }

    static Object invoke(Method m, Object target, Object... args) {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            Throwable t = e.getCause();
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error er) throw er;
            throw new RuntimeException(t);
        } catch (IllegalAccessException e) {
            throw new RuntimeException(e);
        }
    }

    static Object newInstance(Class<?> cls) {
        try {
            return cls.getConstructor().newInstance();
        } catch (InvocationTargetException e) {
            Throwable t = e.getCause();
            if (t instanceof RuntimeException re) throw re;
            throw new RuntimeException(t);
        } catch (ReflectiveOperationException e) {
            throw new RuntimeException(e);
        }
    }

    /** Short description of an exception for FAIL lines. */
    static String describe(Throwable t) {
        while ((t instanceof InvocationTargetException || t.getClass() == RuntimeException.class) && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getMessage();
        return t.getClass().getName() + (msg == null ? "" : ": " + msg.replace('\n', ' '));
    }
}
