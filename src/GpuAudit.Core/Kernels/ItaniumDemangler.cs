using System.Globalization;
using System.Text;

namespace GpuAudit.Core.Kernels;

/// <summary>
/// A bounded demangler for the part of the Itanium C++ ABI that GPU kernel names use: nested and
/// template names, builtin, qualified, pointer, reference and array types, template parameters,
/// integer literals, argument packs, ABI tags and substitutions. Names it does not cover (local
/// names and lambdas, operators, expressions, pointers to arrays) give null, and callers show the
/// mangled name. Names come from the watched process, so the work is bounded: input at most 4 KiB,
/// recursion at most 48 deep, every step consumes input, and no type grows past 8 KiB.
/// </summary>
public static class ItaniumDemangler
{
    private const int MaxInput = 4096;
    private const int MaxDepth = 48;
    private const int MaxOutput = 8192;

    public static string? TryDemangle(string mangled)
    {
        if (mangled.Length is < 3 or > MaxInput || !mangled.StartsWith("_Z", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            var parser = new Parser(mangled, 2);
            var result = parser.Encoding();
            return result is not null && parser.AtEnd && result.Length <= MaxOutput ? result : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private sealed class Parser(string text, int position)
    {
        private readonly List<string> _substitutions = [];
        private List<string>? _templateArgs;
        private int _position = position;
        private int _depth;

        public bool AtEnd => _position == text.Length;

        private char Peek(int ahead = 0) => _position + ahead < text.Length ? text[_position + ahead] : '\0';

        private char Next() => _position < text.Length ? text[_position++] : throw new FormatException();

        private void Expect(char c)
        {
            if (Next() != c)
            {
                throw new FormatException();
            }
        }

        public string? Encoding()
        {
            var name = Name(out var isTemplate, out var cv, out var isCtorDtor);
            if (AtEnd)
            {
                return name;
            }

            var returnType = isTemplate && !isCtorDtor ? Type() : null;
            var parameters = new List<string>();
            while (!AtEnd && Peek() != 'E')
            {
                parameters.Add(Type());
            }

            var list = parameters is ["void"] ? string.Empty : string.Join(", ", parameters);
            return (returnType is null ? string.Empty : returnType + " ") + name + "(" + list + ")" + cv;
        }

        /// <summary>&lt;name&gt;: nested, unscoped (maybe std::), unscoped template, or a substitution followed by template args.</summary>
        private string Name(out bool isTemplate, out string cv, out bool isCtorDtor)
        {
            Enter();
            cv = string.Empty;
            isCtorDtor = false;
            isTemplate = false;
            string name;
            if (Peek() == 'N')
            {
                name = NestedName(out isTemplate, out cv, out isCtorDtor);
            }
            else if (Peek() == 'Z')
            {
                throw new FormatException(); // local names (lambdas, function-local types)
            }
            else
            {
                var std = Peek() == 'S' && Peek(1) == 't';
                if (std)
                {
                    _position += 2;
                }

                if (Peek() == 'S')
                {
                    name = Substitution();
                }
                else
                {
                    name = (std ? "std::" : string.Empty) + UnqualifiedName(null, out _);
                }

                if (Peek() == 'I')
                {
                    _substitutions.Add(name);
                    var args = TemplateArgs();
                    _templateArgs = args;
                    name += Format(args);
                    isTemplate = true;
                }
            }

            Leave();
            return name;
        }

        private string NestedName(out bool isTemplate, out string cv, out bool isCtorDtor)
        {
            Expect('N');
            cv = Qualifiers();
            if (Peek() is 'R' or 'O')
            {
                cv += Next() == 'R' ? " &" : " &&";
            }

            string? prefix = null;
            string? last = null;
            isTemplate = false;
            isCtorDtor = false;
            while (Peek() != 'E')
            {
                isTemplate = false;
                isCtorDtor = false;
                string component;
                var fromSubstitution = false;
                if (Peek() == 'S' && Peek(1) == 't')
                {
                    _position += 2;
                    prefix = "std";
                    continue;
                }

                if (Peek() == 'S')
                {
                    component = Substitution();
                    fromSubstitution = true;
                    prefix = component;
                }
                else if (Peek() == 'T')
                {
                    prefix = TemplateParam();
                }
                else if (Peek() == 'I')
                {
                    if (prefix is null)
                    {
                        throw new FormatException();
                    }

                    var args = TemplateArgs();
                    _templateArgs = args;
                    prefix += Format(args);
                    isTemplate = true;
                }
                else
                {
                    component = UnqualifiedName(last, out isCtorDtor);
                    last = component;
                    prefix = prefix is null ? component : prefix + "::" + component;
                }

                if (Peek() != 'E' && !fromSubstitution)
                {
                    _substitutions.Add(prefix!);
                }
            }

            Expect('E');
            return prefix ?? throw new FormatException();
        }

        /// <summary>A source name (with ABI tags), or a constructor/destructor named after <paramref name="enclosing"/>.</summary>
        private string UnqualifiedName(string? enclosing, out bool isCtorDtor)
        {
            isCtorDtor = false;
            string name;
            if (char.IsAsciiDigit(Peek()))
            {
                name = SourceName();
            }
            else if ((Peek() == 'C' && Peek(1) is >= '1' and <= '5') || (Peek() == 'D' && Peek(1) is >= '0' and <= '5'))
            {
                var destructor = Next() == 'D';
                Next();
                isCtorDtor = true;
                var owner = enclosing is null ? throw new FormatException() : StripTemplateArgs(enclosing);
                name = (destructor ? "~" : string.Empty) + owner;
            }
            else
            {
                throw new FormatException(); // operators, unnamed types, lambdas
            }

            while (Peek() == 'B')
            {
                Next();
                name += "[abi:" + SourceName() + "]";
            }

            return name;
        }

        private static string StripTemplateArgs(string name)
        {
            var angle = name.IndexOf('<', StringComparison.Ordinal);
            return angle < 0 ? name : name[..angle];
        }

        private string SourceName()
        {
            var length = Number();
            if (length <= 0 || _position + length > text.Length)
            {
                throw new FormatException();
            }

            var name = text.Substring(_position, length);
            _position += length;
            return name.StartsWith("_GLOBAL__N", StringComparison.Ordinal) ? "(anonymous namespace)" : name;
        }

        private int Number()
        {
            var start = _position;
            while (char.IsAsciiDigit(Peek()))
            {
                _position++;
            }

            return int.TryParse(text.AsSpan(start, _position - start), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException();
        }

        private string Qualifiers()
        {
            var cv = string.Empty;
            if (Peek() == 'r')
            {
                Next();
                cv += " restrict";
            }

            if (Peek() == 'V')
            {
                Next();
                cv += " volatile";
            }

            if (Peek() == 'K')
            {
                Next();
                cv += " const";
            }

            return cv;
        }

        private List<string> TemplateArgs()
        {
            Expect('I');
            var args = new List<string>();
            while (Peek() != 'E')
            {
                args.Add(TemplateArg());
            }

            Expect('E');
            return args;
        }

        private static string Format(List<string> args)
        {
            var inner = string.Join(", ", args);
            return "<" + inner + (inner.EndsWith('>') ? " >" : ">");
        }

        private string TemplateArg()
        {
            Enter();
            string arg;
            switch (Peek())
            {
                case 'L':
                    arg = Literal();
                    break;
                case 'J':
                    Next();
                    var pack = new List<string>();
                    while (Peek() != 'E')
                    {
                        pack.Add(TemplateArg());
                    }

                    Next();
                    arg = string.Join(", ", pack);
                    break;
                case 'X':
                    throw new FormatException(); // expressions
                default:
                    arg = Type();
                    break;
            }

            Leave();
            return arg;
        }

        private string Literal()
        {
            Expect('L');
            if (Peek() == '_' && Peek(1) == 'Z')
            {
                throw new FormatException(); // external names as arguments
            }

            var type = Type();
            var negative = Peek() == 'n';
            if (negative)
            {
                Next();
            }

            var start = _position;
            while (Peek() != 'E')
            {
                Next();
            }

            var digits = (negative ? "-" : string.Empty) + text[start.._position];
            Expect('E');
            return type switch
            {
                "bool" => digits == "0" ? "false" : "true",
                "int" => digits,
                "unsigned int" => digits + "u",
                "long" => digits + "l",
                "unsigned long" => digits + "ul",
                "long long" => digits + "ll",
                "unsigned long long" => digits + "ull",
                _ => "(" + type + ")" + digits,
            };
        }

        private string TemplateParam()
        {
            Expect('T');
            var index = Peek() == '_' ? 0 : Number() + 1;
            Expect('_');
            return _templateArgs is { } args && index < args.Count ? args[index] : throw new FormatException();
        }

        private string Substitution()
        {
            Expect('S');
            var special = Peek() switch
            {
                'a' => "std::allocator",
                'b' => "std::basic_string",
                's' => "std::string",
                'i' => "std::istream",
                'o' => "std::ostream",
                'd' => "std::iostream",
                _ => null,
            };
            if (special is not null)
            {
                Next();
                return special;
            }

            var index = 0;
            if (Peek() != '_')
            {
                // Base-36 sequence id, then '_': S_ is 0, S0_ is 1, SA_ is 11...
                var id = 0;
                while (Peek() != '_')
                {
                    var c = Next();
                    id = checked((id * 36) + (char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetterUpper(c) ? c - 'A' + 10 : throw new FormatException()));
                }

                index = id + 1;
            }

            Expect('_');
            return index < _substitutions.Count ? _substitutions[index] : throw new FormatException();
        }

        private string Type()
        {
            Enter();
            string type;
            var substitutable = true;
            var c = Peek();
            if (Builtin(c) is { } builtin)
            {
                Next();
                type = builtin;
                substitutable = false;
            }
            else if (c == 'D' && Peek(1) is 'h' or 'n' or 'f' or 'd' or 'e' or 'i' or 's' or 'u' or 'a' or 'c')
            {
                Next();
                type = Next() switch
                {
                    'h' => "half",
                    'n' => "decltype(nullptr)",
                    'f' => "decimal32",
                    'd' => "decimal64",
                    'e' => "decimal128",
                    'i' => "char32_t",
                    's' => "char16_t",
                    'u' => "char8_t",
                    'a' => "auto",
                    _ => "decltype(auto)",
                };
                substitutable = false;
            }
            else if (c is 'r' or 'V' or 'K')
            {
                var cv = Qualifiers();
                type = Type() + cv;
            }
            else if (c is 'P' or 'R' or 'O')
            {
                Next();
                if (Peek() == 'A')
                {
                    throw new FormatException(); // pointers to arrays print inside out: int (&) [4]
                }

                type = Type() + (c == 'P' ? "*" : c == 'R' ? "&" : "&&");
            }
            else if (c == 'A')
            {
                Next();
                var length = Number();
                Expect('_');
                type = Type() + " [" + length.ToString(CultureInfo.InvariantCulture) + "]";
            }
            else if (c == 'T')
            {
                type = TemplateParam();
                if (Peek() == 'I')
                {
                    _substitutions.Add(type);
                    type += Format(TemplateArgs());
                }
            }
            else if (c == 'S' && Peek(1) != 't')
            {
                type = Substitution();
                substitutable = false;
                if (Peek() == 'I')
                {
                    type += Format(TemplateArgs());
                    substitutable = true;
                }
            }
            else if (c is 'N' or 'S' || char.IsAsciiDigit(c))
            {
                var saved = _templateArgs;
                type = Name(out _, out _, out _);
                _templateArgs = saved; // a class's template arguments do not rebind the function's T_
            }
            else
            {
                throw new FormatException(); // function types, member pointers, decltype, vendor types
            }

            if (substitutable)
            {
                _substitutions.Add(type);
            }

            Leave();
            return type.Length <= MaxOutput ? type : throw new FormatException();
        }

        private static string? Builtin(char c) => c switch
        {
            'v' => "void",
            'w' => "wchar_t",
            'b' => "bool",
            'c' => "char",
            'a' => "signed char",
            'h' => "unsigned char",
            's' => "short",
            't' => "unsigned short",
            'i' => "int",
            'j' => "unsigned int",
            'l' => "long",
            'm' => "unsigned long",
            'x' => "long long",
            'y' => "unsigned long long",
            'n' => "__int128",
            'o' => "unsigned __int128",
            'f' => "float",
            'd' => "double",
            'e' => "long double",
            'g' => "__float128",
            'z' => "...",
            _ => null,
        };

        private void Enter()
        {
            if (++_depth > MaxDepth)
            {
                throw new FormatException();
            }
        }

        private void Leave() => _depth--;
    }
}
