import type { GraphQLArgument, GraphQLFieldResolver, GraphQLSchema } from 'graphql';
import { defaultFieldResolver, getNamedType, isObjectType } from 'graphql';
import { requireId } from './validation.js';

const isIdArgument = (argument: GraphQLArgument) => getNamedType(argument.type).name === 'ID';

/**
 * Every argument of type `ID` (or a list of them), on every field of every operation and
 * transport, checked as `requireId` does (not empty, at most 128 characters, no whitespace)
 * before the field resolves or subscribes: one place, so no resolver can forget it, a bad id
 * is BAD_USER_INPUT naming the argument rather than a NOT_FOUND, and no error echoes an
 * unbounded id.
 *
 * @returns the same schema, its fields' `resolve` and `subscribe` wrapped
 */
export function checkIdArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const names = field.args.filter(isIdArgument).map((argument) => argument.name);
      if (names.length === 0) continue;
      const check = (args: Record<string, unknown>) => {
        for (const name of names) {
          const value = args[name];
          if (value == null) continue;
          for (const id of Array.isArray(value) ? value : [value]) requireId(name, id as string);
        }
      };
      const checked = (resolver: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> =>
        (source, args, context, info) => {
          check(args);
          return resolver(source, args, context, info);
        };
      // A subscription field's `resolve` maps each event; its arguments were checked when it subscribed.
      if (field.subscribe) field.subscribe = checked(field.subscribe);
      else field.resolve = checked(field.resolve ?? defaultFieldResolver);
    }
  }
  return schema;
}
