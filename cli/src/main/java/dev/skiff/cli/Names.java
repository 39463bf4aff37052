package dev.skiff.cli;

import java.util.regex.Pattern;

/** Function names are lowercase DNS labels, so they fit in URLs, hostnames and container names. */
final class Names {
    static final Pattern DNS_LABEL = Pattern.compile("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$");

    private Names() {
    }

    static boolean isValid(String name) {
        return name != null && DNS_LABEL.matcher(name).matches();
    }

    static void check(String name) throws CliException {
        if (!isValid(name)) {
            throw new CliException("invalid function name '" + name + "': use 1-63 lowercase letters, digits"
                    + " and '-', starting with a letter and not ending with '-' (like hello or resize-image)");
        }
    }
}
