
use builtin;
use str;

set edit:completion:arg-completer[mime-pack] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'mime-pack'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'mime-pack'= {
            cand -r 'Author address: "Name <addr@example.com>" or addr@example.com [default: $EMAIL]'
            cand --from 'Author address: "Name <addr@example.com>" or addr@example.com [default: $EMAIL]'
            cand --to 'Recipient (repeatable; a value may hold a comma-separated list)'
            cand -c 'Carbon-copy recipient (repeatable)'
            cand --cc 'Carbon-copy recipient (repeatable)'
            cand -b 'Blind-copy recipient (repeatable); kept in the output for smtp-send -t, which strips it'
            cand --bcc 'Blind-copy recipient (repeatable); kept in the output for smtp-send -t, which strips it'
            cand --reply-to 'Reply-To address (repeatable)'
            cand -s 'Subject; non-ASCII is sent as RFC 2047 encoded-words'
            cand --subject 'Subject; non-ASCII is sent as RFC 2047 encoded-words'
            cand --header 'Extra header field "Name: value" (repeatable); Date and Message-ID replace the generated ones'
            cand --body 'The plain-text body; "-" (the default) is standard input'
            cand --html 'Adds an HTML alternative to the text body (multipart/alternative)'
            cand --inline 'A file the HTML refers to as cid:ID (repeatable): FILE[;cid=ID][;type=T][;name=N]. ID defaults to the file name'
            cand -a 'Attach a file (repeatable): FILE[;type=T][;name=N][;charset=C]'
            cand --attach 'Attach a file (repeatable): FILE[;type=T][;name=N][;charset=C]'
            cand --charset 'Declare the text bodies in this charset instead of detecting it (bytes are sent unchanged)'
            cand -o 'Write the message to FILE (atomically; a device or FIFO is written in place) instead of standard output'
            cand --output 'Write the message to FILE (atomically; a device or FIFO is written in place) instead of standard output'
            cand --generate 'Print the man page or a shell completion to standard output, and exit'
            cand --smtputf8 'Allow non-ASCII addresses (RFC 6531); the server must offer SMTPUTF8'
            cand --crlf 'End lines with CRLF (canonical form) instead of LF'
            cand --create-dirs 'Make the folders of the -o FILE path when they are missing'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
