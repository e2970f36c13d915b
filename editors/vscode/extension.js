// The Ereje extension: starts `ereje lsp` (the language server of the `ereje` binary) for
// `.ereje` files. The binary is `ereje.server.path` in the settings, `ereje` on PATH by default.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("ereje").get("server.path", "ereje");
  const serverOptions = { command, args: ["lsp"] };
  const clientOptions = { documentSelector: [{ scheme: "file", language: "ereje" }] };
  client = new LanguageClient("ereje", "Ereje language server", serverOptions, clientOptions);
  context.subscriptions.push(client);
  // `ereje test` on the policy of the active file, with the editor's unsaved text: failing tests
  // become diagnostics on the tests' TOML files.
  context.subscriptions.push(
    vscode.commands.registerCommand("ereje.runPolicyTests", async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        return;
      }
      const summary = await client.sendRequest("workspace/executeCommand", {
        command: "ereje.runTests",
        arguments: [editor.document.uri.toString()],
      });
      vscode.window.showInformationMessage(
        `Ereje tests: ${summary.passed} passed, ${summary.failed} failed`
      );
    })
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
