// The demo's bundled tool server: a small MCP server over stdio, built with the official SDK.
import { McpServer } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

const server = new McpServer({ name: 'tether-sample', version: '0.1.0' });
const notes: string[] = [];
const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

server.registerTool(
  'add',
  { description: 'Add two numbers', inputSchema: z.object({ a: z.number(), b: z.number() }) },
  async ({ a, b }) => text(String(a + b)),
);
server.registerTool(
  'multiply',
  { description: 'Multiply two numbers', inputSchema: z.object({ a: z.number(), b: z.number() }) },
  async ({ a, b }) => text(String(a * b)),
);
server.registerTool(
  'now',
  { description: 'The current date and time (ISO 8601, UTC)', inputSchema: z.object({}) },
  async () => text(new Date().toISOString()),
);
server.registerTool(
  'roll_dice',
  {
    description: 'Roll a die with the given number of sides',
    inputSchema: z.object({ sides: z.number().int().min(2).max(1000).default(6) }),
  },
  async ({ sides }) => text(String(1 + Math.floor(Math.random() * sides))),
);
server.registerTool(
  'note_add',
  {
    description: 'Remember a short note',
    inputSchema: z.object({ text: z.string().min(1).max(500) }),
  },
  async ({ text: note }) => (notes.push(note), text(`noted (${notes.length})`)),
);
server.registerTool(
  'notes_list',
  { description: 'List the notes remembered so far', inputSchema: z.object({}) },
  async () => text(notes.length ? notes.map((n, i) => `${i + 1}. ${n}`).join('\n') : '(no notes)'),
);

await server.connect(new StdioServerTransport());
