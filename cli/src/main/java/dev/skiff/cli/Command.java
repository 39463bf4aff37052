package dev.skiff.cli;

import java.io.IOException;

/** One {@code fn} sub-command. */
interface Command {

    /** The word after {@code fn}. */
    String name();

    /** One line for {@code fn --help}. */
    String summary();

    /** The usage line without the leading {@code usage: }, e.g. {@code fn deploy [DIR]}. */
    String usage();

    /** Further lines shown by {@code fn <cmd> --help} (options, notes); may be empty. */
    String details();

    /** The command's options; {@code --gateway} and {@code --help} are added by {@link Fn}. */
    Args.Spec options();

    /** Runs the command and returns the exit code. */
    int run(Args args, Context ctx) throws CliException, IOException;
}
